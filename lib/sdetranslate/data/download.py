"""Download of dataset archives over HTTP(S), with retries, resume and SHA-256 verification."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from sdetranslate.io import atomic_path

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
# Wait before retry n (0-based) is min(BACKOFF_BASE_S * 2**n, BACKOFF_MAX_S) seconds.
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 60.0
# Progress is logged at every tenth of a known size, or every PROGRESS_LOG_BYTES otherwise.
PROGRESS_LOG_BYTES = 100 << 20
USER_AGENT = "sdetranslate/0.1 (dataset download)"
# A body that starts like this is an HTML page, whatever Content-Type the server sent.
HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html)", re.IGNORECASE)
CONTENT_RANGE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$")


class DownloadError(RuntimeError):
    """A download that failed and cannot succeed by retrying."""


class _TransientError(Exception):
    """A failed attempt worth retrying: connection error, timeout, HTTP 5xx or a cut-off body.

    `restart` is True when the bytes received so far cannot be resumed and must be dropped.
    """

    def __init__(self, message: str, restart: bool = False):
        super().__init__(message)
        self.restart = restart


def sha256_file(path: str | os.PathLike) -> str:
    """Return the hex SHA-256 digest of the file at `path`, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _manual_hint(url: str, dest: Path) -> str:
    return (
        f"To place the archive by hand, download {url} with a browser or curl and save it "
        f"as {dest}; the rule then uses that file without network access"
    )


def _verify_checksum(dest: Path, expected: str, actual: str, url: str, downloaded: bool) -> None:
    """Raise DownloadError when `actual` differs from the pinned `expected` SHA-256."""
    if actual.lower() == expected.strip().lower():
        return
    if downloaded:
        action = (
            f"The download was discarded. If the archive at {url} has changed on purpose, "
            "update the pinned checksum; otherwise rerun"
        )
    else:
        action = "Delete the file and rerun to download it again, or update the pinned checksum"
    raise DownloadError(
        f"SHA-256 mismatch for {dest}: expected {expected.strip().lower()}, got {actual}. {action}"
    )


def _verify_size(path: Path, expected: int, dest: Path, url: str, downloaded: bool) -> None:
    """Raise DownloadError when the file at `path` does not have `expected` bytes."""
    actual = path.stat().st_size
    if actual == expected:
        return
    if downloaded:
        action = f"The download was discarded. {_manual_hint(url, dest)}"
    else:
        action = "Delete the file and rerun to download it again, or fix download.size_bytes"
    raise DownloadError(
        f"size mismatch for {dest}: expected {expected} bytes, got {actual}. {action}"
    )


class _Progress:
    """Progress of one download: a tqdm bar when stderr is a terminal, and log lines."""

    def __init__(self, name: str, total: int | None, done: int):
        self.name = name
        self.total = total
        self.done = done
        self.next_log = self._next_mark(done)
        # Pipeline steps send sys.stderr to their log file, so the bar goes to the
        # process's original stderr, and only when that is a terminal.
        terminal = sys.__stderr__
        self.bar = tqdm(
            total=total,
            initial=done,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=name,
            file=terminal,
            disable=terminal is None or not terminal.isatty(),
        )

    def _next_mark(self, done: int) -> int:
        step = max(self.total // 10, 1) if self.total else PROGRESS_LOG_BYTES
        return (done // step + 1) * step

    def update(self, count: int) -> None:
        self.done += count
        self.bar.update(count)
        if self.done >= self.next_log:
            if self.total:
                percent = 100 * self.done / self.total
                logger.info(
                    "%s: %d of %d bytes (%.0f%%)", self.name, self.done, self.total, percent
                )
            else:
                logger.info("%s: %d bytes", self.name, self.done)
            self.next_log = self._next_mark(self.done)

    def close(self) -> None:
        self.bar.close()


def _open(url: str, dest: Path, offset: int, timeout: float):
    """Send the GET request, asking for the bytes from `offset` on when it is positive.

    Returns the response and the offset at which its body starts: `offset` for a 206
    response to the range request, 0 for a 200 response. Raises DownloadError for 4xx
    responses and _TransientError for 5xx responses and connection errors.
    """
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 416 and offset:
            # The partial file does not fit the archive on the server any more.
            raise _TransientError(
                f"HTTP status 416 for a range from byte {offset}", restart=True
            ) from error
        if 400 <= error.code < 500:
            raise DownloadError(
                f"downloading {url} failed with HTTP status {error.code} ({error.reason}); "
                f"check the URL. {_manual_hint(url, dest)}"
            ) from error
        raise _TransientError(f"HTTP status {error.code} ({error.reason})") from error
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise _TransientError(f"connection failed: {error}") from error

    if response.status == 206:
        content_range = response.headers.get("Content-Range", "")
        match = CONTENT_RANGE.match(content_range.strip())
        if not match or int(match.group(1)) != offset:
            response.close()
            raise _TransientError(
                f"range request from byte {offset} got Content-Range {content_range!r}",
                restart=True,
            )
        return response, offset
    if offset:
        logger.info("%s ignored the range request; restarting from byte 0", url)
    return response, 0


def _expected_total(response, start: int) -> int | None:
    """Return the full archive size that the response headers state, or None."""
    content_range = CONTENT_RANGE.match(response.headers.get("Content-Range", "").strip())
    if response.status == 206 and content_range and content_range.group(3) != "*":
        return int(content_range.group(3))
    length = response.headers.get("Content-Length", "")
    return start + int(length) if length.isdigit() else None


def _download_once(url: str, tmp: Path, dest: Path, timeout: float, size_bytes: int | None) -> None:
    """Download `url` into `tmp`, continuing after the bytes that `tmp` already has.

    The body must have the size that the headers state, or `size_bytes` when they state
    none. Raises DownloadError for failures that a retry cannot fix and _TransientError for
    others, keeping the bytes received so that the next attempt can resume.
    """
    offset = tmp.stat().st_size
    response, start = _open(url, dest, offset, timeout)
    if offset and start == offset:
        logger.info("Resuming %s at byte %d", url, offset)

    with response:
        status = response.status
        content_type = response.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() == "text/html":
            raise DownloadError(
                f"{url} returned an HTML page (HTTP status {status}, Content-Type "
                f"{content_type!r}) instead of an archive; the server may need a login or the "
                f"link may have moved. {_manual_hint(url, dest)}"
            )
        total = _expected_total(response, start)
        if total is None:
            total = size_bytes
        received = start
        progress = _Progress(dest.name, total, start)
        try:
            with open(tmp, "r+b" if start else "wb") as stream:
                stream.seek(start)
                stream.truncate()
                while chunk := response.read(CHUNK_BYTES):
                    if received == 0 and HTML_START.match(chunk):
                        raise DownloadError(
                            f"{url} returned an HTML page (HTTP status {status}) instead of "
                            f"an archive; the server may need a login or the link may have "
                            f"moved. {_manual_hint(url, dest)}"
                        )
                    stream.write(chunk)
                    received += len(chunk)
                    progress.update(len(chunk))
        except (OSError, http.client.HTTPException) as error:
            if isinstance(error, OSError) and not isinstance(
                error, (ConnectionError, TimeoutError)
            ):
                raise  # a local write error, e.g. a full disk, is not worth retrying
            raise _TransientError(f"transfer cut off after {received} bytes: {error}") from error
        finally:
            progress.close()

    if received == 0:
        raise DownloadError(
            f"{url} returned an empty body (HTTP status {status}); check the URL. "
            f"{_manual_hint(url, dest)}"
        )
    if total is not None and received < total:
        raise _TransientError(f"transfer cut off after {received} of {total} bytes")
    if total is not None and received > total:
        raise DownloadError(
            f"{url} sent {received} bytes, more than the expected {total}. "
            f"{_manual_hint(url, dest)}"
        )


def _fetch_checked(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    size_bytes: int | None = None,
) -> tuple[Path, str]:
    """Fetch or check `dest` as `fetch_archive` does and return it with its SHA-256, so that
    callers need not read the archive again to hash it."""
    dest = Path(dest)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    if size_bytes is not None and (
        isinstance(size_bytes, bool) or not isinstance(size_bytes, int) or size_bytes < 1
    ):
        raise ValueError(f"size_bytes must be a positive integer or None, got {size_bytes!r}")

    if dest.exists():
        if not dest.is_file():
            raise DownloadError(f"{dest} exists but is not a file; remove it and rerun")
        if size_bytes is not None:
            _verify_size(dest, size_bytes, dest, url, downloaded=False)
        actual = sha256_file(dest)
        if sha256 is not None:
            _verify_checksum(dest, sha256, actual, url, downloaded=False)
            logger.info("Using existing %s (SHA-256 verified)", dest)
        else:
            logger.info(
                "Using existing %s (no SHA-256 pinned, not verified); its SHA-256 is %s",
                dest,
                actual,
            )
        return dest, actual

    logger.info("Downloading %s to %s", url, dest)
    with atomic_path(dest) as tmp:
        for attempt in range(retries + 1):
            try:
                _download_once(url, tmp, dest, timeout, size_bytes)
                break
            except _TransientError as error:
                if error.restart:
                    logger.info("Dropping the %d bytes received so far", tmp.stat().st_size)
                    tmp.write_bytes(b"")
                if attempt == retries:
                    raise DownloadError(
                        f"downloading {url} failed after {retries + 1} attempts ({error}); "
                        f"check the network. {_manual_hint(url, dest)}"
                    ) from error
                wait = min(BACKOFF_BASE_S * 2**attempt, BACKOFF_MAX_S)
                logger.warning(
                    "Download of %s failed (%s); retry %d of %d in %.1f s",
                    url,
                    error,
                    attempt + 1,
                    retries,
                    wait,
                )
                time.sleep(wait)
        if size_bytes is not None:
            _verify_size(tmp, size_bytes, dest, url, downloaded=True)
        actual = sha256_file(tmp)
        if sha256 is not None:
            _verify_checksum(dest, sha256, actual, url, downloaded=True)
            logger.info("SHA-256 of %s: %s (matches the pinned checksum)", dest.name, actual)
        else:
            logger.info(
                "SHA-256 of %s: %s (no checksum pinned; set sha256: %s in the dataset's "
                "config to pin it)",
                dest.name,
                actual,
                actual,
            )
    logger.info("Saved %s (%d bytes)", dest, dest.stat().st_size)
    return dest, actual


def fetch_archive(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    size_bytes: int | None = None,
) -> Path:
    """Download `url` to `dest` unless it exists, check its size and SHA-256, and return `dest`.

    An existing `dest` is only checked against `size_bytes` and `sha256` (each when
    given), with no network access. A download goes to a temporary file beside `dest`,
    which is renamed into place only after the checks pass, so no file is left at
    `dest` when it fails. HTTP 4xx responses, HTML pages and empty bodies fail at once.
    Connection errors, timeouts (`timeout` seconds per socket operation), HTTP 5xx
    and bodies shorter than the announced size are retried up to `retries` times
    with exponential backoff. A retry after a cut-off body requests the missing bytes
    with an HTTP range request, and starts over when the server does not support
    ranges. The computed checksum is always logged so that it can be pinned.
    """
    return _fetch_checked(url, dest, sha256, timeout, retries, size_bytes)[0]


def fetch_archive_with_record(
    url: str,
    dest: str | os.PathLike,
    record: str | os.PathLike,
    **fetch_settings,
) -> Path:
    """Fetch or check `dest` with `fetch_archive`, then write `record` and return `dest`.

    The record is a small text file with the archive's SHA-256, size and URL, written only
    after the archive passed its checks. A workflow can declare the record as its output
    instead of the archive, so that rerunning the step, which deletes its outputs first,
    checks the archive in place and never deletes it. `fetch_settings` are the keyword
    arguments of `fetch_archive`.
    """
    path, sha256 = _fetch_checked(url, dest, **fetch_settings)
    lines = [f"sha256 {sha256}", f"size_bytes {path.stat().st_size}", f"url {url}"]
    with atomic_path(record) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path

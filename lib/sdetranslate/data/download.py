"""Download of dataset archives over HTTP(S), with retries and SHA-256 verification."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from sdetranslate.io import atomic_path

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
# Wait before retry n (0-based) is BACKOFF_BASE_S * 2**n seconds.
BACKOFF_BASE_S = 0.5
USER_AGENT = "sdetranslate/0.1 (dataset download)"


class DownloadError(RuntimeError):
    """A download that failed and cannot succeed by retrying."""


class _TransientError(Exception):
    """A failed attempt worth retrying: connection error, timeout, HTTP 5xx or a cut-off body."""


def sha256_file(path: str | os.PathLike) -> str:
    """Return the hex SHA-256 digest of the file at `path`, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _manual_hint(url: str, dest: Path) -> str:
    return f"download {url} by hand and place it at {dest}"


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


def _download_once(url: str, tmp: Path, dest: Path, timeout: float) -> str:
    """Download `url` into `tmp` and return the SHA-256 of the body.

    Raises DownloadError for failures that a retry cannot fix and _TransientError for others.
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if 400 <= error.code < 500:
            raise DownloadError(
                f"downloading {url} failed with HTTP status {error.code} ({error.reason}); "
                f"check the URL, or {_manual_hint(url, dest)}"
            ) from error
        raise _TransientError(f"HTTP status {error.code} ({error.reason})") from error
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise _TransientError(f"connection failed: {error}") from error

    with response:
        content_type = response.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() == "text/html":
            raise DownloadError(
                f"{url} returned an HTML page (Content-Type {content_type!r}) instead of an "
                f"archive; the server may need a login or the link may have moved. "
                f"{_manual_hint(url, dest).capitalize()}"
            )
        length_header = response.headers.get("Content-Length")
        expected_bytes = int(length_header) if length_header and length_header.isdigit() else None

        digest = hashlib.sha256()
        received = 0
        progress = tqdm(
            total=expected_bytes,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=dest.name,
            disable=not sys.stderr.isatty(),
        )
        try:
            with progress, open(tmp, "wb") as stream:
                while chunk := response.read(CHUNK_BYTES):
                    stream.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    progress.update(len(chunk))
        except (OSError, http.client.HTTPException) as error:
            if isinstance(error, OSError) and not isinstance(
                error, (ConnectionError, TimeoutError)
            ):
                raise  # a local write error, e.g. a full disk, is not worth retrying
            raise _TransientError(f"transfer cut off after {received} bytes: {error}") from error

    if expected_bytes is not None and received != expected_bytes:
        raise _TransientError(f"received {received} of {expected_bytes} bytes")
    if received == 0:
        raise DownloadError(
            f"{url} returned an empty body; check the URL, or {_manual_hint(url, dest)}"
        )
    return digest.hexdigest()


def fetch_archive(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    timeout: float = 60.0,
    retries: int = 3,
) -> Path:
    """Download `url` to `dest` unless it exists, verify the SHA-256 if given, and return `dest`.

    An existing `dest` is only verified, with no network access. A download is streamed
    to a temporary file beside `dest` and renamed into place after verification, so no
    file is left at `dest` when it fails. HTTP 4xx, HTML pages and empty bodies fail at
    once. Connection errors, timeouts (`timeout` seconds per socket operation), HTTP 5xx
    and cut-off bodies are retried up to `retries` times with exponential backoff.
    The computed checksum is always logged so that it can be pinned.
    """
    dest = Path(dest)
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")

    if dest.exists():
        if not dest.is_file():
            raise DownloadError(f"{dest} exists but is not a file; remove it and rerun")
        if sha256 is not None:
            actual = sha256_file(dest)
            _verify_checksum(dest, sha256, actual, url, downloaded=False)
            logger.info("Using existing %s (SHA-256 verified)", dest)
        else:
            logger.info("Using existing %s (no SHA-256 pinned, not verified)", dest)
        return dest

    logger.info("Downloading %s to %s", url, dest)
    with atomic_path(dest) as tmp:
        for attempt in range(retries + 1):
            try:
                actual = _download_once(url, tmp, dest, timeout)
                break
            except _TransientError as error:
                if attempt == retries:
                    raise DownloadError(
                        f"downloading {url} failed after {retries + 1} attempts ({error}); "
                        f"check the network, or {_manual_hint(url, dest)}"
                    ) from error
                wait = BACKOFF_BASE_S * 2**attempt
                logger.warning(
                    "Download of %s failed (%s); retry %d of %d in %.1f s",
                    url,
                    error,
                    attempt + 1,
                    retries,
                    wait,
                )
                time.sleep(wait)
        logger.info("SHA-256 of %s: %s", dest.name, actual)
        if sha256 is not None:
            _verify_checksum(dest, sha256, actual, url, downloaded=True)
    logger.info("Saved %s", dest)
    return dest

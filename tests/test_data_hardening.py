"""Tests for downloads, archives and image files that are cut off, unsafe, odd or broken."""

from __future__ import annotations

import csv
import hashlib
import http.server
import io
import logging
import re
import stat
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import yaml
from PIL import Image, ImageFile
from snakemake.utils import validate

from sdetranslate.data import download
from sdetranslate.data.download import DownloadError, fetch_archive
from sdetranslate.data.extract import extract_archive
from sdetranslate.data.images import decode_image, to_rgb
from sdetranslate.data.prepare import prepare_paired_split
from sdetranslate.data.prepare_unpaired import prepare_unpaired_split
from sdetranslate.data.records import MANIFEST_COLUMNS, REJECTED_COLUMNS, merge_record_files

REPO = Path(__file__).resolve().parents[1]
PAYLOAD = bytes(range(256)) * 400
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


# --- loopback server --------------------------------------------------------------------------


@dataclass
class Step:
    """One scripted response. `cut` sends only that many body bytes, and `ranges` honours Range."""

    status: int = 200
    body: bytes = PAYLOAD
    content_type: str = "application/gzip"
    send_length: bool = True
    cut: int | None = None
    ranges: bool = False
    delay_s: float = 0.0


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves each path the next step of its script, repeating the last step."""

    scripts: dict[str, list[Step]] = {}
    requests: list[tuple[str, str | None]] = []

    def do_GET(self):
        range_header = self.headers.get("Range")
        self.requests.append((self.path, range_header))
        script = self.scripts.get(self.path) or [Step(status=404, body=b"not found")]
        step = script.pop(0) if len(script) > 1 else script[0]
        time.sleep(step.delay_s)

        status, body, headers = step.status, step.body, {}
        if range_header and step.ranges and status == 200:
            start = int(re.fullmatch(r"bytes=(\d+)-", range_header).group(1))
            if start >= len(body):
                status, headers["Content-Range"], body = 416, f"bytes */{len(body)}", b""
            else:
                status = 206
                headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
                body = body[start:]
        if step.ranges:
            headers["Accept-Ranges"] = "bytes"
        if step.send_length:
            headers["Content-Length"] = str(len(body))

        self.send_response(status)
        self.send_header("Content-Type", step.content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body if step.cut is None else body[: step.cut])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first, as in the timeout test

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Handler.scripts = {}
    Handler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", Handler
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(download, "BACKOFF_BASE_S", 0.01)


# --- download ---------------------------------------------------------------------------------


def test_fetch_resumes_with_range(server, tmp_path):
    base, handler = server
    handler.scripts["/a.tar.gz"] = [Step(cut=1000, ranges=True), Step(ranges=True)]
    dest = fetch_archive(f"{base}/a.tar.gz", tmp_path / "a.tar.gz", sha256=PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD
    assert handler.requests == [("/a.tar.gz", None), ("/a.tar.gz", "bytes=1000-")]
    assert [p.name for p in tmp_path.iterdir()] == ["a.tar.gz"]


def test_fetch_restarts_when_range_ignored(server, tmp_path):
    base, handler = server
    handler.scripts["/a.tar.gz"] = [Step(cut=1000), Step()]
    dest = fetch_archive(f"{base}/a.tar.gz", tmp_path / "a.tar.gz", sha256=PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD
    assert handler.requests[1] == ("/a.tar.gz", "bytes=1000-")


def test_fetch_restarts_after_416(server, tmp_path):
    base, handler = server
    short = PAYLOAD[:500]
    handler.scripts["/a.tar.gz"] = [
        Step(cut=1000),
        Step(body=short, ranges=True),
        Step(ranges=True),
    ]
    dest = fetch_archive(f"{base}/a.tar.gz", tmp_path / "a.tar.gz", sha256=PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD
    assert [header for _, header in handler.requests] == [None, "bytes=1000-", None]


def test_fetch_size_fills_missing_length(server, tmp_path):
    base, handler = server
    handler.scripts["/a.tar.gz"] = [
        Step(send_length=False, cut=3000, ranges=True),
        Step(send_length=False, ranges=True),
    ]
    url = f"{base}/a.tar.gz"
    dest = fetch_archive(url, tmp_path / "a.tar.gz", size_bytes=len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD
    assert handler.requests[1] == ("/a.tar.gz", "bytes=3000-")


def test_fetch_size_mismatch(server, tmp_path):
    base, handler = server
    handler.scripts["/a.tar.gz"] = [Step()]
    dest = tmp_path / "a.tar.gz"
    with pytest.raises(DownloadError, match="size mismatch") as caught:
        fetch_archive(f"{base}/a.tar.gz", dest, size_bytes=len(PAYLOAD) - 1)
    assert f"expected {len(PAYLOAD) - 1} bytes, got {len(PAYLOAD)}" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_fetch_cut_off_gives_up(server, tmp_path):
    base, handler = server
    handler.scripts["/a.tar.gz"] = [Step(cut=1000)]
    url = f"{base}/a.tar.gz"
    with pytest.raises(DownloadError, match="after 3 attempts") as caught:
        fetch_archive(url, tmp_path / "a.tar.gz", retries=2)
    assert url in str(caught.value)
    assert f"1000 of {len(PAYLOAD)} bytes" in str(caught.value)
    assert len(handler.requests) == 3
    assert list(tmp_path.iterdir()) == []


def test_fetch_500_then_200(server, tmp_path):
    base, handler = server
    handler.scripts["/a.tar.gz"] = [Step(status=500, body=b"error"), Step()]
    dest = fetch_archive(f"{base}/a.tar.gz", tmp_path / "a.tar.gz", retries=1)
    assert dest.read_bytes() == PAYLOAD
    assert len(handler.requests) == 2


def test_fetch_500_message(server, tmp_path):
    base, handler = server
    handler.scripts["/a.tar.gz"] = [Step(status=500, body=b"error")]
    url = f"{base}/a.tar.gz"
    with pytest.raises(DownloadError) as caught:
        fetch_archive(url, tmp_path / "a.tar.gz", retries=0)
    assert url in str(caught.value)
    assert "HTTP status 500" in str(caught.value)
    assert "by hand" in str(caught.value)
    assert len(handler.requests) == 1


def test_fetch_timeout_is_retried(server, tmp_path):
    base, handler = server
    handler.scripts["/a.tar.gz"] = [Step(delay_s=1.0), Step()]
    dest = fetch_archive(f"{base}/a.tar.gz", tmp_path / "a.tar.gz", timeout=0.3, retries=1)
    assert dest.read_bytes() == PAYLOAD
    assert len(handler.requests) == 2


def test_fetch_404_message(server, tmp_path):
    base, handler = server
    url = f"{base}/gone.zip"
    dest = tmp_path / "gone.zip"
    with pytest.raises(DownloadError) as caught:
        fetch_archive(url, dest, retries=3)
    message = str(caught.value)
    assert url in message
    assert "HTTP status 404" in message
    assert f"save it as {dest}" in message
    assert len(handler.requests) == 1
    assert list(tmp_path.iterdir()) == []


def test_fetch_html_page_message(server, tmp_path):
    base, handler = server
    page = b"<html><body>Sign in</body></html>"
    handler.scripts["/a.zip"] = [Step(body=page, content_type="text/html; charset=utf-8")]
    url = f"{base}/a.zip"
    with pytest.raises(DownloadError, match="HTML page") as caught:
        fetch_archive(url, tmp_path / "a.zip")
    assert url in str(caught.value)
    assert "HTTP status 200" in str(caught.value)
    assert "by hand" in str(caught.value)
    assert len(handler.requests) == 1
    assert list(tmp_path.iterdir()) == []


def test_fetch_html_without_content_type(server, tmp_path):
    base, handler = server
    page = b"\n<!DOCTYPE html><html><body>Moved</body></html>"
    handler.scripts["/a.zip"] = [Step(body=page, content_type="application/octet-stream")]
    with pytest.raises(DownloadError, match="HTML page"):
        fetch_archive(f"{base}/a.zip", tmp_path / "a.zip")
    assert list(tmp_path.iterdir()) == []


def test_fetch_empty_body_message(server, tmp_path):
    base, handler = server
    handler.scripts["/a.zip"] = [Step(body=b"")]
    url = f"{base}/a.zip"
    with pytest.raises(DownloadError, match="empty body") as caught:
        fetch_archive(url, tmp_path / "a.zip")
    assert url in str(caught.value)
    assert "HTTP status 200" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_fetch_logs_checksum_and_progress(server, tmp_path, caplog):
    base, handler = server
    handler.scripts["/a.tar.gz"] = [Step()]
    with caplog.at_level(logging.INFO, logger="sdetranslate.data.download"):
        fetch_archive(f"{base}/a.tar.gz", tmp_path / "a.tar.gz")
    assert f"sha256: {PAYLOAD_SHA}" in caplog.text
    assert f"{len(PAYLOAD)} of {len(PAYLOAD)} bytes (100%)" in caplog.text


def test_fetch_placed_archive_size_checked(tmp_path):
    dest = tmp_path / "a.tar.gz"
    dest.write_bytes(PAYLOAD[:10])
    url = "http://127.0.0.1:9/a.tar.gz"
    with pytest.raises(DownloadError, match="size mismatch") as caught:
        fetch_archive(url, dest, size_bytes=len(PAYLOAD))
    assert str(dest) in str(caught.value)
    assert dest.read_bytes() == PAYLOAD[:10]


def test_fetch_placed_archive_logs_checksum(tmp_path, caplog):
    dest = tmp_path / "a.tar.gz"
    dest.write_bytes(PAYLOAD)
    with caplog.at_level(logging.INFO, logger="sdetranslate.data.download"):
        fetch_archive("http://127.0.0.1:9/a.tar.gz", dest, size_bytes=len(PAYLOAD))
    assert PAYLOAD_SHA in caplog.text


@pytest.mark.parametrize("retries", [-1, 1.5, True])
def test_fetch_rejects_bad_retries(tmp_path, retries):
    with pytest.raises(ValueError, match="retries"):
        fetch_archive("http://127.0.0.1:9/a.zip", tmp_path / "a.zip", retries=retries)


# --- extraction -------------------------------------------------------------------------------


MAPS = {"maps/train/1.jpg": b"t1", "maps/val/1.jpg": b"v1"}


def tar_with(path: Path, extra: tarfile.TarInfo) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in MAPS.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        tar.addfile(extra)
    return path


def tar_member(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


@pytest.mark.parametrize(
    ("kind", "linkname", "problem"),
    [
        (tarfile.SYMTYPE, "1.jpg", "symbolic link"),
        (tarfile.LNKTYPE, "maps/train/1.jpg", "hard link"),
        (tarfile.CHRTYPE, "", "device file"),
        (tarfile.BLKTYPE, "", "device file"),
        (tarfile.FIFOTYPE, "", "FIFO"),
    ],
)
def test_tar_rejects_special_member(tmp_path, kind, linkname, problem):
    archive = tar_with(tmp_path / "maps.tar.gz", tar_member("maps/train/2.jpg", kind, linkname))
    with pytest.raises(ValueError, match=problem) as caught:
        extract_archive(archive, tmp_path / "out", ["train", "val"])
    assert "'maps/train/2.jpg'" in str(caught.value)
    assert [p.name for p in tmp_path.iterdir()] == ["maps.tar.gz"]


def test_tar_rejects_absolute_member(tmp_path):
    member = tarfile.TarInfo("/tmp/evil.txt")
    archive = tar_with(tmp_path / "maps.tar.gz", member)
    with pytest.raises(ValueError, match="absolute path") as caught:
        extract_archive(archive, tmp_path / "out", ["train", "val"])
    assert "'/tmp/evil.txt'" in str(caught.value)
    assert [p.name for p in tmp_path.iterdir()] == ["maps.tar.gz"]


def zip_with(path: Path, name: str, mode: int, data: bytes = b"1.jpg") -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for member, content in MAPS.items():
            bundle.writestr(member, content)
        info = zipfile.ZipInfo(name)
        info.external_attr = mode << 16
        bundle.writestr(info, data)
    return path


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        (stat.S_IFLNK | 0o777, "symbolic link"),
        (stat.S_IFCHR | 0o644, "device file"),
        (stat.S_IFIFO | 0o644, "FIFO"),
    ],
)
def test_zip_rejects_special_member(tmp_path, mode, problem):
    archive = zip_with(tmp_path / "maps.zip", "maps/train/2.jpg", mode)
    with pytest.raises(ValueError, match=problem) as caught:
        extract_archive(archive, tmp_path / "out", ["train", "val"])
    assert "'maps/train/2.jpg'" in str(caught.value)
    assert [p.name for p in tmp_path.iterdir()] == ["maps.zip"]


def test_zip_keeps_regular_member(tmp_path):
    archive = zip_with(tmp_path / "maps.zip", "maps/train/2.jpg", stat.S_IFREG | 0o644, b"t2")
    root = extract_archive(archive, tmp_path / "out", ["train", "val"])
    assert (root / "train" / "2.jpg").read_bytes() == b"t2"


def test_zip_missing_test_b_lists_folders(tmp_path):
    archive = tmp_path / "horse2zebra.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for folder in ("trainA", "trainB", "testA"):
            bundle.writestr(f"horse2zebra/{folder}/1.jpg", b"x")
    with pytest.raises(ValueError, match="testB") as caught:
        extract_archive(archive, tmp_path / "out", ["trainA", "trainB", "testA", "testB"])
    for folder in ("horse2zebra/trainA/", "horse2zebra/trainB/", "horse2zebra/testA/"):
        assert folder in str(caught.value)
    assert [p.name for p in tmp_path.iterdir()] == ["horse2zebra.zip"]


def test_zip_other_top_folder(tmp_path):
    archive = tmp_path / "maps.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name, data in MAPS.items():
            bundle.writestr(name.replace("maps/", "maps_v2/"), data)
        bundle.writestr("__MACOSX/maps_v2/train/._1.jpg", b"x")
    root = extract_archive(archive, tmp_path / "out", ["train", "val"])
    assert root == tmp_path / "out" / "maps_v2"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["maps_v2"]


# --- image modes ------------------------------------------------------------------------------


def saved(image: Image.Image, path: Path, **options) -> Path:
    image.save(path, **options)
    return path


def palette_image(transparent: bool) -> Image.Image:
    image = Image.new("P", (2, 1))
    image.putpalette([10, 200, 30, 90, 0, 250])
    image.putpixel((1, 0), 1)
    if transparent:
        image.info["transparency"] = 0
    return image


def pixels(path: Path) -> list[tuple[int, int, int]]:
    rgb, _ = decode_image(path)
    assert rgb.mode == "RGB"
    return [rgb.getpixel((x, 0)) for x in range(rgb.width)]


def test_mode_l(tmp_path):
    path = saved(Image.new("L", (1, 1), 77), tmp_path / "l.png")
    assert pixels(path) == [(77, 77, 77)]


def test_mode_p(tmp_path):
    path = saved(palette_image(transparent=False), tmp_path / "p.png")
    assert pixels(path) == [(10, 200, 30), (90, 0, 250)]


def test_mode_p_transparency(tmp_path):
    path = saved(palette_image(transparent=True), tmp_path / "p.png")
    assert pixels(path) == [(255, 255, 255), (90, 0, 250)]


def test_mode_la_on_white(tmp_path):
    image = Image.new("LA", (3, 1))
    image.putdata([(100, 0), (100, 255), (0, 128)])
    path = saved(image, tmp_path / "la.png")
    assert pixels(path) == [(255, 255, 255), (100, 100, 100), (127, 127, 127)]


def test_mode_rgba_on_white(tmp_path):
    image = Image.new("RGBA", (2, 1))
    image.putdata([(200, 10, 10, 0), (200, 10, 10, 255)])
    path = saved(image, tmp_path / "rgba.png")
    assert pixels(path) == [(255, 255, 255), (200, 10, 10)]


def test_mode_cmyk_jpeg(tmp_path):
    path = saved(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), tmp_path / "c.jpg", quality=95)
    _, source = decode_image(path)
    red, green, blue = pixels(path)[0]
    assert source.mode == "CMYK"
    assert red >= 250
    assert green <= 5
    assert blue <= 5


def test_mode_cmyk_exact():
    rgb = to_rgb(Image.new("CMYK", (1, 1), (0, 255, 255, 0)))
    assert rgb.getpixel((0, 0)) == (255, 0, 0)


def test_mode_i16_scaled(tmp_path):
    values = np.array([[0, 1000, 25700, 65535]], dtype=np.uint16)
    path = saved(Image.fromarray(values), tmp_path / "i16.png")
    _, source = decode_image(path)
    assert source.mode == "I;16"
    assert pixels(path) == [(0, 0, 0), (4, 4, 4), (100, 100, 100), (255, 255, 255)]


def test_mode_1(tmp_path):
    image = Image.new("1", (2, 1), 0)
    image.putpixel((1, 0), 1)
    path = saved(image, tmp_path / "one.png")
    assert pixels(path) == [(0, 0, 0), (255, 255, 255)]


def test_truncated_mode_must_stay_off(tmp_path, monkeypatch):
    path = saved(Image.new("L", (1, 1), 77), tmp_path / "l.png")
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        decode_image(path)


def test_pillow_truncated_mode_off():
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


# --- paired preparation -----------------------------------------------------------------------


def pair(path: Path, width: int = 32, height: int = 16, mode: str = "RGB", colour=None) -> Path:
    image = Image.new(mode, (width, height), colour if colour is not None else (40, 90, 140))
    image.save(path)
    return path


def truncated_jpeg(path: Path, width: int = 64, height: int = 32) -> Path:
    noise = np.random.default_rng(0).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return path


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


@pytest.fixture
def bad_split(tmp_path) -> Path:
    """train/ with good files 1, 2, 4 and 6 and bad files 3 (truncated), 5 (empty), 7 (text)."""
    split = tmp_path / "maps" / "train"
    split.mkdir(parents=True)
    for k in (1, 2, 4, 6):
        pair(split / f"{k}.png", colour=(10 * k, 0, 0))
    truncated_jpeg(split / "3.jpg")
    (split / "5.jpg").write_bytes(b"")
    (split / "7.jpeg").write_text("<html>not an image</html>")
    return tmp_path / "maps"


def prepare_outputs(tmp_path: Path) -> dict:
    return {
        "out_path": tmp_path / "out" / "train.pt",
        "manifest_path": tmp_path / "out" / "train_manifest.csv",
        "rejected_path": tmp_path / "out" / "train_rejected.csv",
    }


def test_paired_fail_lists_every_bad_file(bad_split, tmp_path):
    outputs = prepare_outputs(tmp_path)
    with pytest.raises(ValueError, match="3 bad image files") as caught:
        prepare_paired_split(bad_split, "train", 8, 2, role="train", **outputs)
    message = str(caught.value)
    assert f"{bad_split / 'train' / '3.jpg'}: truncated or corrupt image" in message
    assert f"{bad_split / 'train' / '5.jpg'}: empty file (0 bytes)" in message
    assert f"{bad_split / 'train' / '7.jpeg'}: not an image file" in message
    assert "on_bad_image: skip" in message
    assert not (tmp_path / "out").exists()


def test_paired_skip_records_rejected(bad_split, tmp_path):
    outputs = prepare_outputs(tmp_path)
    data = prepare_paired_split(
        bad_split, "train", 8, None, on_bad_image="skip", role="train", **outputs
    )
    assert data["names"] == ["1", "2", "4", "6"]
    rows = read_csv(outputs["rejected_path"])
    assert [row["path"] for row in rows] == [
        str(bad_split / "train" / name) for name in ("3.jpg", "5.jpg", "7.jpeg")
    ]
    assert rows[1]["reason"] == "empty file (0 bytes)"
    assert {row["role"] for row in rows} == {"train"}
    assert {row["split"] for row in rows} == {"train"}


def test_paired_skip_takes_limit_of_good(bad_split, tmp_path):
    data = prepare_paired_split(
        bad_split, "train", 8, 3, on_bad_image="skip", **prepare_outputs(tmp_path)
    )
    assert data["names"] == ["1", "2", "4"]
    assert data["a"][:, 0, 4, 4].tolist() == [10, 20, 40]


def test_paired_skip_too_few(bad_split, tmp_path):
    outputs = prepare_outputs(tmp_path)
    with pytest.raises(ValueError) as caught:
        prepare_paired_split(bad_split, "train", 8, 5, on_bad_image="skip", **outputs)
    message = str(caught.value)
    assert "limit 5 is larger than the 4 usable images" in message
    assert "7 image files, 3 rejected" in message
    assert not (tmp_path / "out").exists()


def test_paired_skip_all_bad(tmp_path):
    split = tmp_path / "train"
    split.mkdir()
    (split / "1.jpg").write_bytes(b"")
    outputs = prepare_outputs(tmp_path)
    with pytest.raises(ValueError, match="0 usable images") as caught:
        prepare_paired_split(tmp_path, "train", 8, None, on_bad_image="skip", **outputs)
    assert "1 image files, 1 rejected" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_paired_logs_counts(bad_split, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="sdetranslate.data.images"):
        prepare_paired_split(
            bad_split, "train", 8, 2, on_bad_image="skip", **prepare_outputs(tmp_path)
        )
    assert "7 image files, 4 usable, 3 rejected, 2 used" in caplog.text


@pytest.mark.parametrize(("width", "height"), [(1199, 600), (1200, 599), (600, 600)])
def test_paired_exact_width(tmp_path, width, height):
    split = tmp_path / "train"
    split.mkdir()
    pair(split / "1.png")
    pair(split / "2.png", width, height)
    outputs = prepare_outputs(tmp_path)
    with pytest.raises(ValueError, match="1 bad image file ") as caught:
        prepare_paired_split(tmp_path, "train", 8, None, **outputs)
    assert f"{split / '2.png'}: size {width}x{height}" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_paired_skip_wrong_width(tmp_path):
    split = tmp_path / "train"
    split.mkdir()
    pair(split / "1.png")
    pair(split / "2.png", 31, 16)
    outputs = prepare_outputs(tmp_path)
    data = prepare_paired_split(tmp_path, "train", 8, None, on_bad_image="skip", **outputs)
    assert data["names"] == ["1"]
    assert read_csv(outputs["rejected_path"])[0]["reason"].startswith("size 31x16, but")


def test_paired_manifest_rows(tmp_path):
    split = tmp_path / "train"
    split.mkdir()
    pair(split / "1.png", mode="L", colour=50)
    palette = Image.new("P", (32, 16))
    palette.putpalette([1, 2, 3])
    palette.save(split / "2.png")
    pair(split / "3.png", 48, 24, mode="RGBA", colour=(0, 0, 0, 0))
    outputs = prepare_outputs(tmp_path)
    data = prepare_paired_split(
        tmp_path, "train", 8, None, domains=("sat", "map"), role="eval", **outputs
    )
    rows = read_csv(outputs["manifest_path"])
    assert len(rows) == 3
    assert list(rows[0]) == list(MANIFEST_COLUMNS)
    assert [row["mode"] for row in rows] == ["L", "P", "RGBA"]
    assert [(row["width"], row["height"]) for row in rows] == [
        ("32", "16"),
        ("32", "16"),
        ("48", "24"),
    ]
    for index, row in enumerate(rows):
        path = split / f"{index + 1}.png"
        assert row["path"] == str(path)
        assert row["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert row["file_bytes"] == str(path.stat().st_size)
        assert row["index"] == str(index)
    assert {(row["role"], row["split"], row["domain"]) for row in rows} == {
        ("eval", "train", "sat+map")
    }
    assert read_csv(outputs["rejected_path"]) == []
    assert (data["a"][2] == 255).all()
    assert (data["a"][0] == 50).all()


# --- unpaired preparation ---------------------------------------------------------------------


@pytest.fixture
def unpaired_root(tmp_path) -> Path:
    """trainA with 1..3 (2 truncated), trainB with 1..3 (3 empty), groundtruth for trainA."""
    root = tmp_path / "h2z"
    for folder in ("trainA", "trainB", "groundtruth/trainA"):
        (root / folder).mkdir(parents=True)
        for k in (1, 2, 3):
            pair(root / folder / f"{k}.png", 20, 20, colour=(k, 100, 200))
    truncated_jpeg(root / "trainA" / "2.png", 64, 64)
    (root / "trainB" / "3.png").write_bytes(b"")
    return root


def test_unpaired_fail_lists_both_domains(unpaired_root, tmp_path):
    outputs = prepare_outputs(tmp_path)
    with pytest.raises(ValueError, match="2 bad image files") as caught:
        prepare_unpaired_split(unpaired_root, "trainA", "trainB", 8, None, **outputs)
    assert f"{unpaired_root / 'trainA' / '2.png'}: truncated" in str(caught.value)
    assert f"{unpaired_root / 'trainB' / '3.png'}: empty file" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_unpaired_skip_records(unpaired_root, tmp_path):
    outputs = prepare_outputs(tmp_path)
    data = prepare_unpaired_split(
        unpaired_root,
        "trainA",
        "trainB",
        8,
        None,
        counterpart_a="groundtruth/trainA",
        on_bad_image="skip",
        role="train",
        **outputs,
    )
    assert data["names_a"] == ["1", "3"]
    assert data["names_b"] == ["1", "2"]
    rejected = read_csv(outputs["rejected_path"])
    assert [(row["split"], Path(row["path"]).name) for row in rejected] == [
        ("trainA", "2.png"),
        ("trainB", "3.png"),
    ]
    manifest = read_csv(outputs["manifest_path"])
    assert [(row["split"], row["domain"], row["index"]) for row in manifest] == [
        ("trainA", "horse", "0"),
        ("groundtruth/trainA", "zebra", "0"),
        ("trainA", "horse", "1"),
        ("groundtruth/trainA", "zebra", "1"),
        ("trainB", "zebra", "0"),
        ("trainB", "zebra", "1"),
    ]
    assert manifest[3]["path"] == str(unpaired_root / "groundtruth" / "trainA" / "3.png")


def test_unpaired_bad_counterpart_drops_image(unpaired_root, tmp_path):
    (unpaired_root / "groundtruth" / "trainA" / "1.png").write_bytes(b"not a png")
    outputs = prepare_outputs(tmp_path)
    data = prepare_unpaired_split(
        unpaired_root,
        "trainA",
        "trainB",
        8,
        None,
        counterpart_a="groundtruth/trainA",
        on_bad_image="skip",
        **outputs,
    )
    assert data["names_a"] == ["3"]
    assert data["a_counterpart"].shape[0] == 1
    paths = [row["path"] for row in read_csv(outputs["rejected_path"])]
    assert str(unpaired_root / "groundtruth" / "trainA" / "1.png") in paths


def test_unpaired_too_few_states_numbers(unpaired_root, tmp_path):
    with pytest.raises(ValueError) as caught:
        prepare_unpaired_split(
            unpaired_root,
            "trainA",
            "trainB",
            8,
            3,
            on_bad_image="skip",
            **prepare_outputs(tmp_path),
        )
    assert "limit 3 is larger than the 2 usable images" in str(caught.value)
    assert "3 image files, 1 rejected" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_unpaired_rejects_unknown_policy(unpaired_root, tmp_path):
    with pytest.raises(ValueError, match="on_bad_image must be one of"):
        prepare_unpaired_split(
            unpaired_root, "trainA", "trainB", 8, 1, on_bad_image="ignore", out_path=tmp_path / "x"
        )


# --- per-dataset records ----------------------------------------------------------------------


def write_rows(path: Path, columns, rows) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(columns)
        writer.writerows(rows)
    return path


def test_merge_drops_repeated_rows(tmp_path):
    first = write_rows(tmp_path / "a.csv", REJECTED_COLUMNS, [["train", "t", "t/1.jpg", "empty"]])
    second = write_rows(
        tmp_path / "b.csv",
        REJECTED_COLUMNS,
        [["train", "t", "t/1.jpg", "empty"], ["eval", "v", "v/2.jpg", "empty"]],
    )
    count = merge_record_files([first, second], tmp_path / "all.csv", REJECTED_COLUMNS)
    assert count == 2
    assert [row["path"] for row in read_csv(tmp_path / "all.csv")] == ["t/1.jpg", "v/2.jpg"]


def test_merge_rejects_wrong_header(tmp_path):
    wrong = write_rows(tmp_path / "a.csv", ["path"], [["t/1.jpg"]])
    with pytest.raises(ValueError, match="a.csv has the columns"):
        merge_record_files([wrong], tmp_path / "all.csv", REJECTED_COLUMNS)
    assert not (tmp_path / "all.csv").exists()


# --- workflow ---------------------------------------------------------------------------------


def test_workflow_dataset_records(server, tmp_path):
    """Download, extract and prepare a served zip with one bad file under on_bad_image: skip."""
    base, handler = server
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        for split, count in (("train", 3), ("val", 2)):
            for k in range(1, count + 1):
                image = io.BytesIO()
                Image.new("RGB", (32, 16), (k * 30, 60, 90)).save(image, format="PNG")
                bundle.writestr(f"maps_v2/{split}/{k}.png", image.getvalue())
        bundle.writestr("maps_v2/train/9.jpg", b"")
    body = archive.getvalue()
    handler.scripts["/maps.zip"] = [Step(status=503, body=b"busy"), Step(body=body)]
    config = {
        "device": "cpu",
        "datasets": [
            {
                "name": "served",
                "source": "url",
                "url": f"{base}/maps.zip",
                "sha256": hashlib.sha256(body).hexdigest(),
                "download": {"retries": 1, "timeout_s": 10},
                "on_bad_image": "skip",
                "splits": {"train": {"limit": 3}, "eval": {"limit": 2}},
            }
        ],
        "experiments": [{"name": "e", "task": "paired", "dataset": "served", "image_size": 8}],
    }
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump(config), encoding="utf-8")
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
    command += ["-d", str(tmp_path), "--cores", "1", "results/datasets/served/manifest.csv"]
    command += ["--configfile", str(configfile)]
    result = subprocess.run(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert result.returncode == 0, result.stdout[-4000:]

    assert len(handler.requests) == 2
    manifest = read_csv(tmp_path / "results" / "datasets" / "served" / "manifest.csv")
    assert [(row["role"], Path(row["path"]).name) for row in manifest] == [
        ("train", "1.png"),
        ("train", "2.png"),
        ("train", "3.png"),
        ("eval", "1.png"),
        ("eval", "2.png"),
    ]
    rejected = read_csv(tmp_path / "results" / "datasets" / "served" / "rejected.csv")
    assert [(row["role"], row["reason"]) for row in rejected] == [("train", "empty file (0 bytes)")]
    assert rejected[0]["path"] == "resources/datasets/served/maps_v2/train/9.jpg"
    log = (tmp_path / "logs" / "data" / "prepare_served_8px_train.log").read_text()
    assert "4 image files, 3 usable, 1 rejected, 3 used" in log
    download_log = (tmp_path / "logs" / "data" / "download_served_maps.zip.log").read_text()
    assert "retry 1 of 1" in download_log
    assert "matches the pinned checksum" in download_log


# --- config schema ----------------------------------------------------------------------------


def dataset_config(**keys) -> dict:
    dataset = {"name": "maps", "source": "url", "url": "http://127.0.0.1:9/maps.zip", **keys}
    return {
        "datasets": [dataset],
        "experiments": [{"name": "e", "task": "paired", "dataset": "maps"}],
    }


def test_schema_fills_dataset_defaults():
    config = dataset_config()
    validate(config, str(REPO / "schemas" / "config.schema.yaml"))
    dataset = config["datasets"][0]
    assert dataset["on_bad_image"] == "fail"
    assert dataset["download"] == {"retries": 3, "timeout_s": 60, "size_bytes": None}


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            {"download": {"retry": 2}},
            "Additional properties are not allowed ('retry' was unexpected)",
        ),
        ({"download": {"retries": -1}}, "-1 is less than the minimum of 0"),
        ({"download": {"retries": "3"}}, "'3' is not of type 'integer'"),
        ({"download": {"timeout_s": 0}}, "0 is less than or equal to the minimum of 0"),
        ({"download": {"size_bytes": 0}}, "0 is less than the minimum of 1"),
        ({"on_bad_image": "ignore"}, "'ignore' is not one of ['fail', 'skip']"),
    ],
)
def test_schema_rejects_bad_dataset_keys(keys, message):
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    with pytest.raises(jsonschema.ValidationError) as caught:
        jsonschema.validate(dataset_config(**keys), schema)
    assert caught.value.message == message
    assert list(caught.value.absolute_path)[:2] == ["datasets", 0]
    assert list(caught.value.absolute_path)[2] == next(iter(keys))

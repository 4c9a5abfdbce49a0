"""Tests for dataset generation, download, extraction and preparation (sdetranslate.data)."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sdetranslate.data import download
from sdetranslate.data.download import (
    DownloadError,
    fetch_archive,
    fetch_archive_with_record,
    sha256_file,
)
from sdetranslate.data.extract import extract_archive, find_dataset_root
from sdetranslate.data.prepare import load_paired_split, prepare_paired_split
from sdetranslate.data.synthetic import (
    BUILDING,
    generate_scene,
    generate_synthetic_maps,
    render_map,
    render_satellite,
)
from sdetranslate.io import save_torch

SAMPLE_ARCHIVE = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "maps_sample.tar.gz"
)
needs_sample = pytest.mark.skipif(not SAMPLE_ARCHIVE.is_file(), reason="maps sample archive absent")


# --- synthetic maps ---------------------------------------------------------------------------


def read_tree(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*.jpg"))}


def test_synthetic_deterministic(tmp_path):
    first = generate_synthetic_maps(tmp_path / "one", n_train=3, n_val=2, seed=7, tile_size=96)
    second = generate_synthetic_maps(tmp_path / "two", n_train=3, n_val=2, seed=7, tile_size=96)
    assert read_tree(first) == read_tree(second)


def test_synthetic_seed_changes_images(tmp_path):
    first = generate_synthetic_maps(tmp_path / "one", n_train=2, n_val=0, seed=1, tile_size=96)
    second = generate_synthetic_maps(tmp_path / "two", n_train=2, n_val=0, seed=2, tile_size=96)
    assert read_tree(first) != read_tree(second)


def test_synthetic_layout_and_sizes(tmp_path):
    root = generate_synthetic_maps(tmp_path, n_train=3, n_val=2, seed=0, tile_size=96)
    assert root == tmp_path / "maps"
    assert sorted(p.name for p in (root / "train").iterdir()) == ["1.jpg", "2.jpg", "3.jpg"]
    assert sorted(p.name for p in (root / "val").iterdir()) == ["1.jpg", "2.jpg"]
    for path in root.rglob("*.jpg"):
        with Image.open(path) as image:
            assert image.format == "JPEG"
            assert image.size == (192, 96)
            assert image.mode == "RGB"


def test_synthetic_replaces_existing(tmp_path):
    generate_synthetic_maps(tmp_path, n_train=3, n_val=1, seed=0, tile_size=96)
    root = generate_synthetic_maps(tmp_path, n_train=1, n_val=1, seed=0, tile_size=96)
    assert [p.name for p in (root / "train").iterdir()] == ["1.jpg"]
    assert [p.name for p in tmp_path.iterdir()] == ["maps"]


def test_synthetic_rejects_bad_counts(tmp_path):
    with pytest.raises(ValueError, match="n_train"):
        generate_synthetic_maps(tmp_path, n_train=-1, n_val=1, seed=0, tile_size=96)
    assert not (tmp_path / "maps").exists()


def test_synthetic_halves_differ(tmp_path):
    root = generate_synthetic_maps(tmp_path, n_train=1, n_val=0, seed=3, tile_size=96)
    pixels = np.asarray(Image.open(root / "train" / "1.jpg").convert("RGB"), dtype=np.int16)
    satellite, street_map = pixels[:, :96], pixels[:, 96:]
    assert np.abs(satellite - street_map).mean() > 40
    assert street_map.mean() > satellite.mean() + 50


def test_synthetic_satellite_not_colour_lookup():
    rng = np.random.default_rng([0, 0, 1])
    scene = generate_scene(rng, 128)
    satellite = render_satellite(scene, rng).reshape(-1, 3)
    street_map = render_map(scene).reshape(-1, 3)

    colours, inverse, counts = np.unique(
        street_map, axis=0, return_inverse=True, return_counts=True
    )
    commonest = counts.argmax()
    under_commonest = satellite[inverse.ravel() == commonest]
    assert len(np.unique(under_commonest, axis=0)) > 100
    assert under_commonest.std(axis=0).mean() > 10

    # Roofs: one map colour for all buildings, but each building has its own roof colour.
    ids = scene.building_ids.ravel()
    on_building = ids > 0
    assert (street_map[on_building] == street_map[on_building][0]).all()
    roof_means = np.array([satellite[ids == i].mean(axis=0) for i in np.unique(ids[on_building])])
    assert len(roof_means) > 10
    assert roof_means.std(axis=0).mean() > 15
    assert (scene.labels.ravel()[on_building] == BUILDING).all()


# --- download ---------------------------------------------------------------------------------


class ScriptedHandler(http.server.BaseHTTPRequestHandler):
    """Serves, for each path, the next response of a script: (status, headers, body, length)."""

    scripts: dict[str, list[tuple[int, dict, bytes, int | None]]] = {}
    hits: dict[str, int] = {}

    def do_GET(self):
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        script = self.scripts.get(self.path) or [(404, {}, b"not found", None)]
        status, headers, body, length = script.pop(0) if len(script) > 1 else script[0]
        self.send_response(status)
        headers = {"Content-Type": "application/gzip", **headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    ScriptedHandler.scripts = {}
    ScriptedHandler.hits = {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ScriptedHandler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", ScriptedHandler
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def fast_backoff(monkeypatch):
    monkeypatch.setattr(download, "BACKOFF_BASE_S", 0.01)


PAYLOAD = bytes(range(256)) * 400
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_fetch_success_with_checksum(server, tmp_path):
    base, handler = server
    handler.scripts["/a.tar.gz"] = [(200, {}, PAYLOAD, None)]
    dest = fetch_archive(f"{base}/a.tar.gz", tmp_path / "a.tar.gz", sha256=PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD
    assert sha256_file(dest) == PAYLOAD_SHA
    assert [p.name for p in tmp_path.iterdir()] == ["a.tar.gz"]


def test_fetch_checksum_mismatch(server, tmp_path):
    base, handler = server
    handler.scripts["/a.tar.gz"] = [(200, {}, PAYLOAD, None)]
    with pytest.raises(DownloadError, match="SHA-256 mismatch") as caught:
        fetch_archive(f"{base}/a.tar.gz", tmp_path / "a.tar.gz", sha256="0" * 64)
    assert PAYLOAD_SHA in str(caught.value)
    assert "0" * 64 in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_fetch_with_record_writes_record(server, tmp_path):
    base, handler = server
    handler.scripts["/a.tar.gz"] = [(200, {}, PAYLOAD, None)]
    url = f"{base}/a.tar.gz"

    fetch_archive_with_record(
        url, tmp_path / "a.tar.gz", tmp_path / "a.tar.gz.verified", sha256=PAYLOAD_SHA
    )

    record = (tmp_path / "a.tar.gz.verified").read_text(encoding="utf-8").splitlines()
    assert record == [f"sha256 {PAYLOAD_SHA}", f"size_bytes {len(PAYLOAD)}", f"url {url}"]


def test_fetch_with_record_checks_archive_offline(tmp_path):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(PAYLOAD)
    url = f"http://127.0.0.1:{closed_port()}/a.tar.gz"

    fetch_archive_with_record(url, archive, tmp_path / "a.tar.gz.verified", sha256=PAYLOAD_SHA)

    assert archive.read_bytes() == PAYLOAD
    assert (tmp_path / "a.tar.gz.verified").is_file()


def test_fetch_with_record_writes_none_on_mismatch(tmp_path):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(PAYLOAD)
    url = f"http://127.0.0.1:{closed_port()}/a.tar.gz"

    with pytest.raises(DownloadError, match="SHA-256 mismatch"):
        fetch_archive_with_record(url, archive, tmp_path / "a.tar.gz.verified", sha256="0" * 64)

    assert not (tmp_path / "a.tar.gz.verified").exists()


def test_fetch_404_fails_at_once(server, tmp_path):
    base, handler = server
    url = f"{base}/missing.tar.gz"
    with pytest.raises(DownloadError) as caught:
        fetch_archive(url, tmp_path / "m.tar.gz")
    assert url in str(caught.value)
    assert "404" in str(caught.value)
    assert "by hand" in str(caught.value)
    assert handler.hits["/missing.tar.gz"] == 1
    assert list(tmp_path.iterdir()) == []


def test_fetch_html_page_fails(server, tmp_path):
    base, handler = server
    page = b"<html><body>Please log in</body></html>"
    handler.scripts["/a.tar.gz"] = [(200, {"Content-Type": "text/html; charset=utf-8"}, page, None)]
    with pytest.raises(DownloadError, match="HTML"):
        fetch_archive(f"{base}/a.tar.gz", tmp_path / "a.tar.gz")
    assert list(tmp_path.iterdir()) == []


def test_fetch_empty_body_fails(server, tmp_path):
    base, handler = server
    handler.scripts["/a.tar.gz"] = [(200, {}, b"", None)]
    with pytest.raises(DownloadError, match="empty"):
        fetch_archive(f"{base}/a.tar.gz", tmp_path / "a.tar.gz")
    assert list(tmp_path.iterdir()) == []


def test_fetch_existing_file_skips_network(tmp_path):
    dest = tmp_path / "a.tar.gz"
    dest.write_bytes(PAYLOAD)
    url = f"http://127.0.0.1:{closed_port()}/a.tar.gz"
    assert fetch_archive(url, dest, sha256=PAYLOAD_SHA) == dest
    assert fetch_archive(url, dest) == dest


def test_fetch_existing_file_mismatch(tmp_path):
    dest = tmp_path / "a.tar.gz"
    dest.write_bytes(PAYLOAD)
    url = f"http://127.0.0.1:{closed_port()}/a.tar.gz"
    with pytest.raises(DownloadError) as caught:
        fetch_archive(url, dest, sha256="f" * 64)
    assert str(dest) in str(caught.value)
    assert "f" * 64 in str(caught.value)
    assert PAYLOAD_SHA in str(caught.value)


def test_fetch_retries_after_5xx(server, tmp_path, fast_backoff):
    base, handler = server
    handler.scripts["/a.tar.gz"] = [(503, {}, b"busy", None), (200, {}, PAYLOAD, None)]
    dest = fetch_archive(f"{base}/a.tar.gz", tmp_path / "a.tar.gz", sha256=PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD
    assert handler.hits["/a.tar.gz"] == 2


def test_fetch_retries_cut_off_body(server, tmp_path, fast_backoff):
    base, handler = server
    cut = (200, {}, PAYLOAD[:1000], len(PAYLOAD))
    handler.scripts["/a.tar.gz"] = [cut, (200, {}, PAYLOAD, None)]
    dest = fetch_archive(f"{base}/a.tar.gz", tmp_path / "a.tar.gz")
    assert dest.read_bytes() == PAYLOAD
    assert handler.hits["/a.tar.gz"] == 2


def test_fetch_gives_up_after_retries(server, tmp_path, fast_backoff):
    base, handler = server
    handler.scripts["/a.tar.gz"] = [(500, {}, b"error", None)]
    with pytest.raises(DownloadError, match="after 3 attempts"):
        fetch_archive(f"{base}/a.tar.gz", tmp_path / "a.tar.gz", retries=2)
    assert handler.hits["/a.tar.gz"] == 3
    assert list(tmp_path.iterdir()) == []


def test_fetch_connection_refused(tmp_path, fast_backoff):
    url = f"http://127.0.0.1:{closed_port()}/a.tar.gz"
    with pytest.raises(DownloadError, match="after 2 attempts"):
        fetch_archive(url, tmp_path / "a.tar.gz", retries=1)
    assert list(tmp_path.iterdir()) == []


# --- extraction -------------------------------------------------------------------------------


MAPS_MEMBERS = {"maps/train/1.jpg": b"t1", "maps/train/2.jpg": b"t2", "maps/val/1.jpg": b"v1"}


def make_tar(path: Path, members: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return path


def test_extract_tar_gz(tmp_path):
    archive = make_tar(tmp_path / "maps.tar.gz", MAPS_MEMBERS)
    root = extract_archive(archive, tmp_path / "out", ["train", "val"])
    assert root == tmp_path / "out" / "maps"
    assert (root / "train" / "2.jpg").read_bytes() == b"t2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.tar.gz", "out"]


def test_extract_zip(tmp_path):
    archive = make_zip(tmp_path / "maps.zip", MAPS_MEMBERS)
    root = extract_archive(archive, tmp_path / "out", ["train", "val"])
    assert root == tmp_path / "out" / "maps"
    assert (root / "val" / "1.jpg").read_bytes() == b"v1"


def test_extract_plain_tar_other_top_folder(tmp_path):
    members = {f"dataset_v2/{name[5:]}": data for name, data in MAPS_MEMBERS.items()}
    archive = make_tar(tmp_path / "maps.tar", members, mode="w")
    root = extract_archive(archive, tmp_path / "out", ["train", "val"])
    assert root == tmp_path / "out" / "dataset_v2"


def test_extract_no_top_folder(tmp_path):
    members = {name[5:]: data for name, data in MAPS_MEMBERS.items()}
    archive = make_zip(tmp_path / "flat.zip", members)
    root = extract_archive(archive, tmp_path / "out", ["train", "val"])
    assert root == tmp_path / "out"
    assert (root / "train" / "1.jpg").is_file()


def test_extract_ignores_macos_debris(tmp_path):
    debris = {
        "__MACOSX/train/._1.jpg": b"x",
        "__MACOSX/val/._1.jpg": b"x",
        "maps/train/._1.jpg": b"x",
        "maps/.DS_Store": b"x",
    }
    archive = make_zip(tmp_path / "maps.zip", {**MAPS_MEMBERS, **debris})
    root = extract_archive(archive, tmp_path / "out", ["train", "val"])
    assert root == tmp_path / "out" / "maps"
    assert not (tmp_path / "out" / "__MACOSX").exists()
    assert not (root / "train" / "._1.jpg").exists()
    assert not (root / ".DS_Store").exists()


def test_extract_missing_split_lists_folders(tmp_path):
    members = {"maps/train/1.jpg": b"t", "maps/test/1.jpg": b"t"}
    archive = make_tar(tmp_path / "maps.tar.gz", members)
    with pytest.raises(ValueError) as caught:
        extract_archive(archive, tmp_path / "out", ["train", "val"])
    assert "maps/test/" in str(caught.value)
    assert "maps/train/" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_extract_zip_rejects_parent_member(tmp_path):
    archive = make_zip(tmp_path / "evil.zip", {**MAPS_MEMBERS, "../evil.txt": b"x"})
    with pytest.raises(ValueError, match=r"\.\./evil\.txt"):
        extract_archive(archive, tmp_path / "sub" / "out", ["train", "val"])
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "sub" / "out").exists()


def test_extract_zip_rejects_absolute_member(tmp_path):
    archive = make_zip(tmp_path / "evil.zip", {**MAPS_MEMBERS, "/etc/evil.txt": b"x"})
    with pytest.raises(ValueError, match="/etc/evil.txt"):
        extract_archive(archive, tmp_path / "out", ["train", "val"])
    assert not (tmp_path / "out").exists()


def test_extract_tar_rejects_parent_member(tmp_path):
    archive = make_tar(tmp_path / "evil.tar.gz", {**MAPS_MEMBERS, "../evil.txt": b"x"})
    with pytest.raises(ValueError, match=r"\.\./evil\.txt"):
        extract_archive(archive, tmp_path / "sub" / "out", ["train", "val"])
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "sub" / "out").exists()


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_extract_truncated_archive(tmp_path, suffix):
    noise = np.random.default_rng(0).integers(0, 256, size=200_000, dtype=np.uint8).tobytes()
    members = {**MAPS_MEMBERS, "maps/train/3.jpg": noise}
    make = make_tar if suffix == ".tar.gz" else make_zip
    archive = make(tmp_path / f"maps{suffix}", members)
    archive.write_bytes(archive.read_bytes()[:100_000])
    with pytest.raises(ValueError, match="truncated or corrupt") as caught:
        extract_archive(archive, tmp_path / "out", ["train", "val"])
    assert str(archive) in str(caught.value)
    assert [p.name for p in tmp_path.iterdir()] == [archive.name]


def test_extract_replaces_existing(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "stale.txt").write_text("old")
    archive = make_tar(tmp_path / "maps.tar.gz", MAPS_MEMBERS)
    extract_archive(archive, tmp_path / "out", ["train", "val"])
    assert not (tmp_path / "out" / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.tar.gz", "out"]


def test_find_root_on_disk(tmp_path):
    (tmp_path / "data" / "maps" / "train").mkdir(parents=True)
    (tmp_path / "data" / "maps" / "val").mkdir()
    (tmp_path / "data" / "__MACOSX" / "train").mkdir(parents=True)
    (tmp_path / "data" / "__MACOSX" / "val").mkdir()
    assert find_dataset_root(tmp_path, ["train", "val"]) == tmp_path / "data" / "maps"


def test_find_root_on_disk_top_level(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    assert find_dataset_root(tmp_path, ["train", "val"]) == tmp_path


def test_find_root_on_disk_missing_split(tmp_path):
    (tmp_path / "maps" / "train").mkdir(parents=True)
    with pytest.raises(ValueError, match="maps/train/"):
        find_dataset_root(tmp_path, ["train", "val"])


def test_find_root_on_disk_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent"):
        find_dataset_root(tmp_path / "absent", ["train", "val"])


# --- preparation ------------------------------------------------------------------------------


def write_pair(path: Path, left, right, size: int = 40, mode: str = "RGB") -> None:
    image = Image.new(mode, (2 * size, size))
    image.paste(Image.new(mode, (size, size), left), (0, 0))
    image.paste(Image.new(mode, (size, size), right), (size, 0))
    image.save(path)


@pytest.fixture
def paired_root(tmp_path):
    split = tmp_path / "maps" / "train"
    split.mkdir(parents=True)
    for k in (1, 2, 10):
        write_pair(split / f"{k}.png", (10 * k, 0, 0), (0, 10 * k, 255))
    (split / "._1.png").write_bytes(b"macOS metadata")
    return tmp_path / "maps"


def test_prepare_shapes_and_dtype(paired_root, tmp_path):
    data = prepare_paired_split(paired_root, "train", 16, None, tmp_path / "train.pt")
    assert data["a"].shape == (3, 3, 16, 16)
    assert data["b"].shape == (3, 3, 16, 16)
    assert data["a"].dtype == torch.uint8
    assert data["b"].dtype == torch.uint8
    assert data["domains"] == ["satellite", "map"]
    assert data["image_size"] == 16
    assert data["split"] == "train"


def test_prepare_natural_order_and_halves(paired_root, tmp_path):
    data = prepare_paired_split(paired_root, "train", 16, None, tmp_path / "train.pt")
    assert data["names"] == ["1", "2", "10"]
    assert data["a"][:, 0, 8, 8].tolist() == [10, 20, 100]
    assert data["b"][:, 1, 8, 8].tolist() == [10, 20, 100]
    assert data["b"][:, 2, 8, 8].tolist() == [255, 255, 255]


def test_prepare_limit(paired_root, tmp_path):
    data = prepare_paired_split(paired_root, "train", 16, 2, tmp_path / "train.pt")
    assert data["names"] == ["1", "2"]
    assert data["a"].shape[0] == 2


def test_prepare_limit_too_large(paired_root, tmp_path):
    with pytest.raises(ValueError, match="limit 5 .* 3 usable images"):
        prepare_paired_split(paired_root, "train", 16, 5, tmp_path / "train.pt")
    assert not (tmp_path / "train.pt").exists()


def test_prepare_saved_file_loads(paired_root, tmp_path):
    out = tmp_path / "train.pt"
    data = prepare_paired_split(paired_root, "train", 16, None, out)
    raw = torch.load(out, weights_only=True)
    assert torch.equal(raw["a"], data["a"])
    assert raw["names"] == data["names"]
    assert load_paired_split(out)["image_size"] == 16


def test_prepare_rgba_on_white(tmp_path):
    split = tmp_path / "train"
    split.mkdir()
    write_pair(split / "1.png", (0, 0, 0, 0), (0, 0, 0, 255), mode="RGBA")
    data = prepare_paired_split(tmp_path, "train", 8, None, tmp_path / "out.pt")
    assert (data["a"] == 255).all()
    assert (data["b"] == 0).all()


def test_prepare_rejects_wrong_aspect(tmp_path):
    split = tmp_path / "train"
    split.mkdir()
    Image.new("RGB", (50, 40)).save(split / "1.jpg")
    with pytest.raises(ValueError, match=r"1\.jpg: size 50x40"):
        prepare_paired_split(tmp_path, "train", 8, None, tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()


def test_prepare_rejects_truncated_jpeg(tmp_path):
    split = tmp_path / "train"
    split.mkdir()
    noise = np.random.default_rng(0).integers(0, 256, size=(64, 128, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="JPEG")
    (split / "1.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ValueError, match=r"1\.jpg"):
        prepare_paired_split(tmp_path, "train", 8, None, tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()


def test_prepare_missing_split(tmp_path):
    with pytest.raises(FileNotFoundError, match="val"):
        prepare_paired_split(tmp_path, "val", 8, None, tmp_path / "out.pt")


def test_load_rejects_wrong_dtype(tmp_path):
    out = tmp_path / "bad.pt"
    images = torch.zeros(2, 3, 8, 8)
    bad = {
        "a": images,
        "b": images,
        "names": ["1", "2"],
        "domains": ["x", "y"],
        "image_size": 8,
        "split": "train",
    }
    save_torch(bad, out)
    with pytest.raises(ValueError, match="dtype uint8"):
        load_paired_split(out)


def test_load_rejects_missing_key(tmp_path):
    out = tmp_path / "bad.pt"
    save_torch({"a": torch.zeros(1, 3, 8, 8, dtype=torch.uint8)}, out)
    with pytest.raises(ValueError, match="missing keys"):
        load_paired_split(out)


@pytest.fixture(scope="module")
def sample_split(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("sample")
    root = extract_archive(SAMPLE_ARCHIVE, out_dir / "maps_sample", ["train", "val"])
    data = prepare_paired_split(root, "train", 32, 8, out_dir / "train.pt")
    return root, data


@needs_sample
def test_sample_archive_root(sample_split):
    root, _ = sample_split
    assert root.name == "maps"
    assert len(list((root / "train").glob("*.jpg"))) == 128
    assert len(list((root / "val").glob("*.jpg"))) == 16


@needs_sample
def test_sample_prepared_shapes(sample_split):
    root, data = sample_split
    stems = sorted((path.stem for path in (root / "train").glob("*.jpg")), key=int)
    assert data["a"].shape == (8, 3, 32, 32)
    assert data["b"].shape == (8, 3, 32, 32)
    assert data["names"] == stems[:8]


@needs_sample
def test_sample_satellite_on_left(sample_split):
    # Street maps are mostly near-white roads and pale blocks, but aerial photos almost never are.
    _, data = sample_split
    near_white_a = (data["a"].min(dim=1).values > 200).float().mean().item()
    near_white_b = (data["b"].min(dim=1).values > 200).float().mean().item()
    assert near_white_a < 0.05
    assert near_white_b > 0.4


def test_extract_rejects_archive_inside_output(tmp_path):
    archive = make_tar(tmp_path / "maps.tar.gz", MAPS_MEMBERS)
    with pytest.raises(ValueError, match="inside the output folder"):
        extract_archive(archive, tmp_path, ["train", "val"])
    assert archive.is_file()


def test_prepare_synthetic_dataset(tmp_path):
    generate_synthetic_maps(tmp_path / "synthetic", n_train=3, n_val=1, seed=0, tile_size=96)
    root = find_dataset_root(tmp_path / "synthetic", ["train", "val"])
    data = prepare_paired_split(root, "train", 16, None, tmp_path / "train.pt")
    assert data["names"] == ["1", "2", "3"]
    assert data["a"].shape == (3, 3, 16, 16)
    assert data["b"].float().mean() > data["a"].float().mean() + 50


def test_outputs_follow_umask(tmp_path):
    import os

    from sdetranslate.io import atomic_directory, save_torch

    previous = os.umask(0o022)
    try:
        save_torch({"x": 1}, tmp_path / "file.pt")
        with atomic_directory(tmp_path / "folder"):
            pass
    finally:
        os.umask(previous)
    assert (tmp_path / "file.pt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "folder").stat().st_mode & 0o777 == 0o755


def test_load_torch_message_is_short(tmp_path):
    from sdetranslate.io import load_torch

    bad = tmp_path / "bad.pt"
    bad.write_text("plain text, not a checkpoint\n")
    with pytest.raises(ValueError) as caught:
        load_torch(bad)
    message = str(caught.value)
    assert str(bad) in message
    assert "delete it and rerun" in message
    assert "weights_only" not in message

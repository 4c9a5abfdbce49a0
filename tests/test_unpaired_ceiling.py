import subprocess
import sys
from pathlib import Path

import pytest

from sdetranslate.unpaired_ceiling import oracle_counterpart_ssim

REPO = Path(__file__).resolve().parents[1]


def test_oracles_cover_both_directions():
    table = oracle_counterpart_ssim(n_scenes=2, seed=0, tile_size=64, image_size=32)
    pairs = set(zip(table.direction, table.translation))
    assert pairs == {
        ("AtoB", "identity"),
        ("AtoB", "restriped"),
        ("AtoB", "grey_coat"),
        ("BtoA", "identity"),
        ("BtoA", "recoloured"),
    }
    assert table.ssim.between(-1, 1).all()


def test_oracles_are_deterministic():
    first = oracle_counterpart_ssim(n_scenes=1, seed=3, tile_size=64, image_size=32)
    second = oracle_counterpart_ssim(n_scenes=1, seed=3, tile_size=64, image_size=32)
    assert first.equals(second)


def test_oracles_reject_empty_sample():
    with pytest.raises(ValueError, match="n_scenes"):
        oracle_counterpart_ssim(n_scenes=0, seed=0, tile_size=64, image_size=32)


def test_ceiling_script_writes_page(tmp_path):
    page = tmp_path / "ceiling.md"
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "unpaired_ceiling.py"), "--n-scenes", "1",
         "--tile-size", "64", "--out", str(page)],
        check=True,
    )
    text = page.read_text()
    assert "identity baseline" in text
    assert "| AtoB |" in text
    assert "| BtoA |" in text


def test_ceiling_script_rejects_bad_counts(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "unpaired_ceiling.py"), "--n-scenes", "0",
         "--out", str(tmp_path / "page.md")],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "--n-scenes must be at least 1" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"n_scenes": 1.5}, "n_scenes must be an integer of at least 1, got 1.5"),
        ({"seed": -1}, "seed must be an integer of at least 0, got -1"),
        ({"tile_size": 8, "image_size": 8}, "tile_size must be an integer of at least 16, got 8"),
        ({"image_size": 6}, "image_size must be an integer of at least 7, got 6"),
        ({"image_size": 128}, "image_size 128 is larger than tile_size 64"),
        ({"jpeg_quality": 0}, "jpeg_quality must be an integer in 1..100, got 0"),
    ],
)
def test_oracles_reject_invalid_arguments(arguments, message):
    call = {"n_scenes": 1, "seed": 0, "tile_size": 64, "image_size": 32, **arguments}
    with pytest.raises(ValueError) as raised:
        oracle_counterpart_ssim(**call)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--image-size", "100000"], "--image-size 100000 is larger than --tile-size 64"),
        (["--out", "{tmp}"], "is a folder; give the path of the page file"),
        (["--out", "{tmp}/file.txt/page.md"], "cannot create the folder of --out"),
    ],
)
def test_ceiling_script_rejects_bad_arguments(tmp_path, options, message):
    (tmp_path / "file.txt").write_text("not a folder")
    options = [option.format(tmp=tmp_path) for option in options]
    command = [sys.executable, str(REPO / "benchmarks" / "unpaired_ceiling.py"), "--n-scenes", "1",
               "--tile-size", "64", "--out", str(tmp_path / "page.md"), *options]

    result = subprocess.run(command, capture_output=True, text=True)

    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "page.md").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file.txt"]

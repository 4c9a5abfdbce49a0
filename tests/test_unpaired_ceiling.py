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

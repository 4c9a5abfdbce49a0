"""bfloat16 autocast for training and sampling, and the run record behind the report."""

from __future__ import annotations

import subprocess

import pytest
import torch
import yaml

from sdetranslate.precision import autocast, prepare_model
from sdetranslate.profiling import ProfileModel
from sdetranslate.provenance import UNKNOWN, code_version, run_info_rst, write_run_info
from sdetranslate.score import get_score_fn
from sdetranslate.training import TrainConfig, train_config_from_settings

SDE = {"beta_min": 0.1, "beta_max": 20.0, "eps": 1e-3}
CPU = torch.device("cpu")


def test_bf16_score_is_float32_and_close_to_fp32():
    net, sde = ProfileModel("tiny", SDE).build(16, CPU)
    score_fn = get_score_fn(sde, net)
    generator = torch.Generator().manual_seed(0)
    x, cond = torch.randn(2, 2, 3, 16, 16, generator=generator)
    t = torch.full((2,), 0.5)
    with torch.inference_mode():
        reference = score_fn(x, cond, t)
        prepare_model(net, "bf16", CPU)
        with autocast("bf16", CPU):
            low = score_fn(x, cond, t)
    assert low.dtype == torch.float32
    relative = (low - reference).norm() / reference.norm()
    assert relative < 0.05


def test_fp32_autocast_changes_nothing():
    net, sde = ProfileModel("tiny", SDE).build(16, CPU)
    x = torch.randn(1, 3, 16, 16)
    t = torch.full((1,), 0.3)
    with torch.inference_mode():
        plain = net(x, x, t)
        with autocast("fp32", CPU):
            same = net(x, x, t)
    assert torch.equal(plain, same)


def test_unknown_precision_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match="fp16.*fp32, bf16"):
        TrainConfig(steps=1, precision="fp16")
    assert train_config_from_settings({"steps": 2}, SDE, "bf16").precision == "bf16"


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_code_version_reads_the_commit_and_uncommitted_changes(tmp_path):
    assert code_version(tmp_path) == UNKNOWN
    git(tmp_path, "init", "-q")
    (tmp_path / "file.txt").write_text("one\n")
    git(tmp_path, "add", "file.txt")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", "one")
    commit = code_version(tmp_path)
    assert len(commit) == 40
    (tmp_path / "file.txt").write_text("two\n")
    assert code_version(tmp_path) == f"{commit}+uncommitted changes"


def test_run_record_holds_version_device_and_config(tmp_path):
    config = {"device": "cpu", "experiments": [{"name": "demo"}]}
    info = write_run_info(
        tmp_path / "run_info.yaml",
        tmp_path / "run_info.rst",
        config=config,
        device="cpu",
        version=code_version(tmp_path),
        config_files=["config.yaml"],
    )
    saved = yaml.safe_load((tmp_path / "run_info.yaml").read_text())
    assert saved["config"] == config
    assert saved["code_version"] == UNKNOWN
    assert saved["device"].startswith("cpu: ")
    page = (tmp_path / "run_info.rst").read_text()
    assert page == run_info_rst(info)
    for text in ("Code version", "Device", "``demo``"):
        assert text in page

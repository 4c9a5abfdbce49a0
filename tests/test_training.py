import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from sdetranslate.io import save_torch
from sdetranslate.training import (
    TrainConfig,
    adam,
    build_optimizer,
    clip_gradient_norm,
    learning_rate,
    load_stateful,
    load_score_model,
    train_paired,
)
from sdetranslate.unet import unet_config_from_preset

STEPS = 300
TRAIN_CODE = """
import logging, sys, torch
logging.basicConfig(level=logging.INFO)
from sdetranslate.training import TrainConfig, train_paired
from sdetranslate.unet import unet_config_from_preset
torch.set_num_threads(1)
out = sys.argv[1]
data = torch.load(out + "/train.pt", weights_only=True)
train_paired(
    data,
    unet_config_from_preset("tiny", 16),
    TrainConfig(steps={steps}, batch_size=2, lr=1e-3, warmup_steps=5, ema_decay=0.99,
                checkpoint_every=10, log_every=5, seed=3),
    {{"AtoB": out + "/AtoB.pt", "BtoA": out + "/BtoA.pt"}},
    out + "/loss.csv",
    out + "/state",
    torch.device("cpu"),
)
"""


def make_data(directory: Path) -> dict:
    generator = torch.Generator().manual_seed(0)
    data = {
        "a": torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8, generator=generator),
        "b": torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8, generator=generator),
        "names": [str(index) for index in range(6)],
        "domains": ["satellite", "map"],
    }
    save_torch(data, directory / "train.pt")
    return data


def run_training(directory: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "lib"))
    return subprocess.Popen(
        [sys.executable, "-c", TRAIN_CODE.format(steps=STEPS), str(directory)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_state(state_path: Path, min_step: int, timeout: float = 120.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state_path.exists():
            try:
                step = torch.load(state_path, weights_only=True)["step"]
            except Exception:  # the file may be replaced while it is read
                step = 0
            if step >= min_step:
                return step
        time.sleep(0.02)
    raise TimeoutError(f"no training state with step >= {min_step} in {state_path}")


def test_training_resumes_after_kill(tmp_path):
    killed_dir, reference_dir = tmp_path / "killed", tmp_path / "reference"
    killed_dir.mkdir()
    reference_dir.mkdir()
    make_data(killed_dir)
    make_data(reference_dir)

    process = run_training(killed_dir)
    saved_step = wait_for_state(killed_dir / "state" / "state.pt", min_step=20)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed_dir / "AtoB.pt").exists()
    saved_step = torch.load(killed_dir / "state" / "state.pt", weights_only=True)["step"]
    assert 20 <= saved_step < STEPS

    rerun = run_training(killed_dir)
    _, rerun_log = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, rerun_log
    assert f"resuming training from saved step {saved_step} of {STEPS}" in rerun_log
    assert not (killed_dir / "state").exists()

    reference = run_training(reference_dir)
    _, reference_log = reference.communicate(timeout=300)
    assert reference.returncode == 0, reference_log

    loss = pd.read_csv(killed_dir / "loss.csv")
    assert loss["step"].tolist() == list(range(5, STEPS + 1, 5))
    reference_loss = pd.read_csv(reference_dir / "loss.csv")
    pd.testing.assert_frame_equal(loss, reference_loss)
    for direction in ("AtoB", "BtoA"):
        resumed = torch.load(killed_dir / f"{direction}.pt", weights_only=True)["state_dict"]
        uninterrupted = torch.load(reference_dir / f"{direction}.pt", weights_only=True)["state_dict"]
        for key in uninterrupted:
            torch.testing.assert_close(resumed[key], uninterrupted[key], rtol=0, atol=0)


def test_training_ignores_state_of_other_settings(tmp_path, caplog):
    data = make_data(tmp_path)
    model_config = unet_config_from_preset("tiny", 16)
    paths = {"AtoB": tmp_path / "AtoB.pt", "BtoA": tmp_path / "BtoA.pt"}
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    save_torch({"fingerprint": "other", "step": 3}, state_dir / "state.pt")
    config = TrainConfig(steps=4, batch_size=2, warmup_steps=2, checkpoint_every=2, log_every=1)
    with caplog.at_level(logging.INFO):
        train_paired(data, model_config, config, paths, tmp_path / "loss.csv", state_dir, torch.device("cpu"))
    assert "ignoring saved training state" in caplog.text
    assert "starting training from step 0" in caplog.text
    assert len(pd.read_csv(tmp_path / "loss.csv")) == 4


def test_trained_model_loads_with_ema_weights(tmp_path):
    data = make_data(tmp_path)
    paths = {"AtoB": tmp_path / "AtoB.pt", "BtoA": tmp_path / "BtoA.pt"}
    config = TrainConfig(steps=3, batch_size=2, warmup_steps=1, log_every=1)
    train_paired(
        data, unet_config_from_preset("tiny", 16), config, paths, tmp_path / "loss.csv",
        tmp_path / "state", torch.device("cpu"),
    )
    model, meta = load_score_model(paths["AtoB"], torch.device("cpu"))
    assert meta["weights"] == "ema"
    assert meta["direction"] == "AtoB"
    assert meta["step"] == 3
    assert not model.training


def test_training_rejects_size_mismatch(tmp_path):
    data = make_data(tmp_path)
    paths = {"AtoB": tmp_path / "AtoB.pt", "BtoA": tmp_path / "BtoA.pt"}
    with pytest.raises(ValueError, match="image_size=32"):
        train_paired(
            data, unet_config_from_preset("tiny", 32), TrainConfig(steps=1), paths,
            tmp_path / "loss.csv", tmp_path / "state", torch.device("cpu"),
        )


def test_learning_rate_warmup():
    config = TrainConfig(steps=10, lr=1e-4, warmup_steps=1000)
    assert learning_rate(0, config) == pytest.approx(1e-7)
    assert learning_rate(499, config) == pytest.approx(5e-5)
    assert learning_rate(5000, config) == pytest.approx(1e-4)


def test_training_ignores_unreadable_state(tmp_path, caplog):
    data = make_data(tmp_path)
    paths = {"AtoB": tmp_path / "AtoB.pt", "BtoA": tmp_path / "BtoA.pt"}
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "state.pt").write_bytes(b"not a torch file")
    config = TrainConfig(steps=2, batch_size=2, warmup_steps=1, log_every=1)
    with caplog.at_level(logging.INFO):
        train_paired(
            data, tiny_config(), config, paths, tmp_path / "loss.csv", state_dir,
            torch.device("cpu"),
        )
    assert "ignoring unreadable training state" in caplog.text
    assert paths["AtoB"].exists()


def tiny_config():
    return unet_config_from_preset("tiny", 16)


@pytest.mark.parametrize("gradient_scale", [1e-3, 1.0, 100.0])
def test_gradient_clipping_matches_torch(gradient_scale):
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Linear(10, 10), torch.nn.Linear(10, 3))
    clipped = torch.nn.Sequential(torch.nn.Linear(10, 10), torch.nn.Linear(10, 3))
    clipped.load_state_dict(reference.state_dict())
    inputs = torch.randn(4, 10)
    for model in (reference, clipped):
        (model(inputs).sum() * gradient_scale).backward()
    torch.nn.utils.clip_grad_norm_(reference.parameters(), 1.0)
    clip_gradient_norm(clipped, 1.0)
    for expected, actual in zip(reference.parameters(), clipped.parameters()):
        assert torch.equal(expected.grad, actual.grad)
    norm = torch.nn.utils.get_total_norm([p.grad for p in clipped.parameters()])
    assert float(norm) <= 1.0 + 1e-5


INF = float("inf")
NAN = float("nan")


@pytest.mark.parametrize(
    ("gradients", "max_norm"),
    [
        ([[3.0, 4.0], None], 1.0),
        ([None, None], 1.0),
        ([[INF, 1.0], [1.0, 1.0]], 1.0),
        ([[NAN, 1.0], [1.0, 1.0]], 1.0),
        ([[INF, 1.0], [1.0, 1.0]], INF),
        ([[3.0, 4.0], [1.0, 1.0]], INF),
        ([[0.6, 0.8], None], 1.0),
        ([[-0.0, 1e-45], [0.0, 0.0]], 1.0),
    ],
)
def test_gradient_clipping_matches_torch_on_edge_cases(gradients, max_norm):
    def model_with_gradients():
        model = torch.nn.Module()
        model.weights = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.zeros(2)) for _ in gradients]
        )
        for parameter, gradient in zip(model.weights, gradients):
            parameter.grad = None if gradient is None else torch.tensor(gradient)
        return model

    reference, clipped = model_with_gradients(), model_with_gradients()
    torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm)
    clip_gradient_norm(clipped, max_norm)
    for expected, actual in zip(reference.parameters(), clipped.parameters()):
        if expected.grad is None:
            assert actual.grad is None
            continue
        # Compare the bits, so that NaN equals NaN and -0.0 differs from 0.0.
        assert torch.equal(expected.grad.view(torch.int32), actual.grad.view(torch.int32))


def test_gradient_clipping_skips_empty_model():
    clip_gradient_norm(torch.nn.Module(), 1.0)


def test_adam_accepts_parameter_generator():
    model = torch.nn.Linear(4, 2)
    optimizer = adam(model.parameters(), 1e-3, (0.9, 0.999))
    assert len(optimizer.param_groups[0]["params"]) == 2
    assert optimizer.defaults["fused"] is True


@pytest.mark.parametrize("grad_clip", [0.0, -1.0, float("nan")])
def test_train_config_rejects_bad_grad_clip(grad_clip):
    with pytest.raises(ValueError, match=r"invalid training setting grad_clip=.*; it must be above 0"):
        TrainConfig(steps=1, grad_clip=grad_clip)


def test_optimizer_uses_fused_adam_on_cpu():
    model = torch.nn.Linear(4, 2)
    optimizer = build_optimizer({"model": model}, TrainConfig(steps=1))
    assert optimizer.defaults["fused"] is True


def test_resumed_optimizer_keeps_fused_kernel():
    model = torch.nn.Linear(4, 2)
    model(torch.randn(3, 4)).sum().backward()
    saved_by_foreach = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=True)
    saved_by_foreach.step()
    optimizer = build_optimizer({"model": model}, TrainConfig(steps=1))

    load_stateful(optimizer, saved_by_foreach.state_dict())
    optimizer.step()

    assert optimizer.param_groups[0]["fused"] is True
    assert optimizer.param_groups[0]["foreach"] is None
    assert optimizer.param_groups[0]["lr"] == 1e-3

"""Tests of the per-domain models, the bridge (DDIB) and SDEdit on small real networks."""

from __future__ import annotations

import pytest
import torch

from sdetranslate.bridges import (
    bridge,
    bridge_nfe,
    bridge_steps,
    sdedit,
    sdedit_sampler_name,
    translate_split_bridge,
    translate_split_sdedit,
)
from sdetranslate.domain_models import (
    load_domain_model,
    no_condition,
    train_domain_models,
    unconditional_config,
)
from sdetranslate.evaluation import score_unpaired
from sdetranslate.io import save_torch
from sdetranslate.sampling import NoiseSource
from sdetranslate.score import NoisePredictor, get_score_fn
from sdetranslate.sde import VPSDE
from sdetranslate.training import TrainConfig
from sdetranslate.unet import ConditionalUNet, unet_config_from_preset

EPS = 1e-3
IMAGE_SIZE = 8


def unconditional_model(seed: int) -> NoisePredictor:
    """Return an untrained unconditional tiny model whose network output is not zero."""
    torch.manual_seed(seed)
    config = unconditional_config(unet_config_from_preset("tiny", IMAGE_SIZE))
    network = ConditionalUNet(config)
    # The zero-initialized output layer would make the network part vanish.
    torch.nn.init.normal_(network.conv_out.weight, std=0.05)
    return NoisePredictor(network, VPSDE(), sigma_data=0.5).eval()


def images(seed: int, count: int = 3) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand((count, 3, IMAGE_SIZE, IMAGE_SIZE), generator=generator) * 1.6 - 0.8


def test_unconditional_model_takes_empty_condition():
    model = unconditional_model(0)
    x = images(0)

    output = model(x, no_condition(x), torch.full((3,), 0.5))

    assert model.config.cond_channels == 0
    assert no_condition(x).shape == (3, 0, IMAGE_SIZE, IMAGE_SIZE)
    assert output.shape == x.shape


def test_bridge_identical_models_returns_input():
    sde = VPSDE()
    score_fn = get_score_fn(sde, unconditional_model(0))
    x = images(1)

    with torch.inference_mode():
        result = bridge(score_fn, score_fn, sde, x, 200, 200, EPS)

    error = (result - x).abs().max().item()
    assert error < 2e-2, f"encoding and decoding with one model moved pixels by up to {error}"


def test_bridge_different_models_changes_input():
    sde = VPSDE()
    x = images(1)

    with torch.inference_mode():
        result = bridge(
            get_score_fn(sde, unconditional_model(0)),
            get_score_fn(sde, unconditional_model(1)),
            sde,
            x,
            40,
            40,
            EPS,
        )

    assert (result - x).abs().mean().item() > 1e-2


def test_bridge_nfe_counts_heun_steps():
    assert bridge_steps(40) == 20
    assert bridge_steps(41) == 20
    assert bridge_nfe(40, 20) == 60
    with pytest.raises(ValueError, match="at least 2"):
        bridge_steps(1)


def run_sdedit(x: torch.Tensor, t0: float, seed: int, n_steps: int = 20) -> torch.Tensor:
    sde = VPSDE()
    score_fn = get_score_fn(sde, unconditional_model(0))
    noise = NoiseSource([seed + index for index in range(x.shape[0])])
    with torch.inference_mode():
        return sdedit(score_fn, sde, x, t0, n_steps, EPS, noise)


def test_sdedit_small_t0_returns_input():
    x = images(2)

    errors = [
        (run_sdedit(x, t0=t0, seed=0, n_steps=1) - x).abs().mean().item()
        for t0 in (0.1, 0.01, 0.0011)
    ]

    # At t0 = 0.0011 the perturbation has std σ_t0 ≈ 0.01 on the [-1, 1] scale.
    assert errors[-1] < 0.01, f"SDEdit from t0 = 0.0011 moved pixels by {errors[-1]} on average"
    assert errors == sorted(errors, reverse=True), errors


def test_sdedit_t0_one_ignores_input():
    first, second = images(3), images(4)

    same_noise = (run_sdedit(first, 1.0, seed=0) - run_sdedit(second, 1.0, seed=0)).abs().mean()
    other_noise = (run_sdedit(first, 1.0, seed=0) - run_sdedit(first, 1.0, seed=100)).abs().mean()

    # Only α_1 ≈ 0.007 of the input survives the perturbation to t0 = 1.
    assert same_noise.item() < 0.05 * other_noise.item(), (same_noise, other_noise)


def test_sdedit_rejects_t0_outside_range():
    with pytest.raises(ValueError, match="t0 must lie in"):
        run_sdedit(images(0), t0=EPS / 2, seed=0)
    with pytest.raises(ValueError, match="t0 must lie in"):
        run_sdedit(images(0), t0=1.5, seed=0)


def test_sdedit_sampler_name():
    assert sdedit_sampler_name(0.5) == "sdedit_t050"
    assert sdedit_sampler_name(0.3) == "sdedit_t030"
    assert sdedit_sampler_name(1.0) == "sdedit_t100"
    with pytest.raises(ValueError, match="multiple of 0.01"):
        sdedit_sampler_name(0.505)


@pytest.fixture(scope="module")
def unpaired_split(tmp_path_factory) -> tuple[dict, str]:
    """Write a small unpaired split of striped (B) and plain (A) uint8 images and return it."""
    folder = tmp_path_factory.mktemp("split")
    generator = torch.Generator().manual_seed(0)
    plain = torch.randint(40, 120, (6, 3, 1, 1), generator=generator).expand(6, 3, IMAGE_SIZE, IMAGE_SIZE)
    # Stripes of period 4 pixels lie in the stripe band of the stripe score.
    stripes = (torch.arange(IMAGE_SIZE) // 2 % 2 * 255).to(torch.uint8)
    stripes = stripes.expand(6, 3, IMAGE_SIZE, IMAGE_SIZE)
    split = {
        "a": plain.to(torch.uint8).contiguous(),
        "b": stripes.contiguous(),
        "names_a": [f"a{index}" for index in range(6)],
        "names_b": [f"b{index}" for index in range(6)],
        "domains": ["horse", "zebra"],
        "image_size": IMAGE_SIZE,
        "split": "train",
    }
    path = folder / "train.pt"
    save_torch(split, path)
    return split, str(path)


@pytest.fixture(scope="module")
def domain_models(unpaired_split, tmp_path_factory) -> dict[str, str]:
    """Train both domain models for four steps and return their paths keyed by domain."""
    split, _ = unpaired_split
    folder = tmp_path_factory.mktemp("models")
    paths = {"A": str(folder / "A.pt"), "B": str(folder / "B.pt")}
    frame = train_domain_models(
        split,
        unet_config_from_preset("tiny", IMAGE_SIZE),
        TrainConfig(steps=4, batch_size=2, warmup_steps=1, checkpoint_every=2, log_every=1),
        paths,
        folder / "loss.csv",
        folder / "state",
        torch.device("cpu"),
    )
    assert list(frame.columns) == ["step", "loss", "loss_A", "loss_B", "lr"]
    assert list(frame["step"]) == [1, 2, 3, 4]
    assert not (folder / "state").exists()
    return paths


def test_domain_models_are_unconditional(domain_models):
    for domain, path in domain_models.items():
        model, meta = load_domain_model(path, domain, torch.device("cpu"))
        assert meta["domain"] == domain
        assert "direction" not in meta
        assert model.config.cond_channels == 0
    with pytest.raises(ValueError, match="not the unconditional model of domain B"):
        load_domain_model(domain_models["A"], "B", torch.device("cpu"))


def test_translate_split_sdedit_writes_samples(domain_models, unpaired_split, tmp_path):
    split, _ = unpaired_split
    settings = dict(experiment="x", direction="AtoB", t0=0.5, n_steps=3, seed=0, device=torch.device("cpu"))

    whole = translate_split_sdedit(domain_models, split, batch_size=6, out_path=tmp_path / "a.pt", **settings)
    batched = translate_split_sdedit(domain_models, split, batch_size=4, out_path=tmp_path / "b.pt", **settings)

    assert whole["sampler"] == "sdedit_t050"
    assert whole["method"] == "sdedit"
    assert whole["images"].dtype == torch.uint8
    assert whole["images"].shape == split["a"].shape
    assert torch.equal(whole["images"], batched["images"])


def test_translate_split_bridge_scores_cycle_error(domain_models, unpaired_split, tmp_path):
    split, train_path = unpaired_split
    samples_path = tmp_path / "bridge.pt"

    payload = translate_split_bridge(
        domain_models,
        split,
        experiment="x",
        direction="BtoA",
        encode_nfe=6,
        decode_nfe=4,
        batch_size=4,
        device=torch.device("cpu"),
        out_path=samples_path,
    )
    scores = score_unpaired(samples_path, train_path, train_path, "x", method="bridge")

    assert payload["n_steps"] == 10
    assert payload["round_trip"].shape == split["b"].shape
    expected = (payload["round_trip"].double() - split["b"].double()).abs().mean().item() / 255
    assert scores["cycle_error"].iloc[0] == pytest.approx(expected)
    assert scores["method"].iloc[0] == "bridge"

"""Translation with a saved score model: sampler settings and the NFE recorded per run."""

import pytest
import torch

from sdetranslate.ema import ExponentialMovingAverage
from sdetranslate.io import load_torch
from sdetranslate.sde import VPSDE
from sdetranslate.training import TrainConfig, build_models, save_score_model
from sdetranslate.translate import translate_images
from sdetranslate.unet import unet_config_from_preset

SIZE = 16


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """Save an untrained tiny AtoB model, which is enough to run every sampler."""
    train_config = TrainConfig(steps=1)
    sde = VPSDE(train_config.beta_min, train_config.beta_max)
    config = unet_config_from_preset("tiny", SIZE)
    model = build_models(config, sde, 0.5, torch.device("cpu"), seed=0)["AtoB"]
    path = tmp_path_factory.mktemp("models") / "AtoB.pt"
    save_score_model(
        path,
        model,
        ExponentialMovingAverage(model, 0.9),
        name="AtoB",
        domains=["satellite", "map"],
        train_config=train_config,
        step=1,
    )
    return path


def translate(model_path, out_path, sampler, n_steps, settings=None):
    images = torch.randint(0, 256, (3, 3, SIZE, SIZE), generator=torch.Generator().manual_seed(0))
    return translate_images(
        model_path,
        images.to(torch.uint8),
        ["a", "b", "c"],
        experiment="tiny",
        direction="AtoB",
        sampler=sampler,
        n_steps=n_steps,
        seed=0,
        batch_size=2,
        device=torch.device("cpu"),
        out_path=out_path,
        sampler_settings=settings,
    )


def test_translation_records_nfe_and_settings(model_path, tmp_path):
    settings = {"n_corrector_steps": 2, "snr": 0.1}
    payload = translate(model_path, tmp_path / "pc.pt", "pc", 7, settings)
    saved = load_torch(tmp_path / "pc.pt")
    assert saved["images"].dtype == torch.uint8
    assert saved["images"].shape == (3, 3, SIZE, SIZE)
    assert saved["n_steps"] == 7
    # Two grid steps of one predictor and two corrector evaluations each.
    assert saved["nfe"] == 6
    assert saved["sampler_settings"] == settings
    assert torch.equal(payload["images"], saved["images"])


def test_ode_translation_is_reproducible(model_path, tmp_path):
    first = translate(model_path, tmp_path / "first.pt", "dpm_solver", 4)
    second = translate(model_path, tmp_path / "second.pt", "dpm_solver", 4)
    assert torch.equal(first["images"], second["images"])
    assert first["nfe"] == 4


def test_translation_rejects_unknown_setting(model_path, tmp_path):
    with pytest.raises(ValueError, match=r"sampler 'em' has no settings \['snr'\]"):
        translate(model_path, tmp_path / "em.pt", "em", 3, {"snr": 0.1})
    assert not (tmp_path / "em.pt").exists()

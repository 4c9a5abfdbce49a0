"""Unconditional score models, one per domain, for the bridge and SDEdit methods.

Each model is the UNet of the conditional experiments with no condition
channels (`cond_channels=0`): it learns the score of one domain's images alone.
Callers pass an empty condition of shape [B, 0, H, W], which `no_condition`
makes, so that the score functions and samplers of the conditional models work
unchanged. Both models are trained jointly by `sdetranslate.training.fit`, with
the sum of their score-matching losses, the same EMA and the same resumable
state as the other experiments. Their gradients do not interact, so this equals
training each model on its own with the same batches.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import torch

from sdetranslate.io import to_model_range
from sdetranslate.losses import score_matching_loss
from sdetranslate.score import NoisePredictor, get_score_fn
from sdetranslate.sde import VPSDE
from sdetranslate.training import (
    EpochSampler,
    TrainConfig,
    check_image_size,
    fingerprint,
    fit,
    load_score_model,
)
from sdetranslate.unet import ConditionalUNet, UNetConfig

logger = logging.getLogger(__name__)

# Names of the two per-domain models and of their files, models/A.pt and models/B.pt.
DOMAIN_KEYS = ("A", "B")


def no_condition(x: torch.Tensor) -> torch.Tensor:
    """Return the empty condition [B, 0, H, W] that an unconditional model takes beside x."""
    return x[:, :0]


def unconditional_config(model_config: UNetConfig) -> UNetConfig:
    """Return `model_config` without condition channels."""
    return dataclasses.replace(model_config, cond_channels=0)


def load_domain_model(path: str | Path, domain: str, device: torch.device) -> tuple[NoisePredictor, dict]:
    """Load the unconditional model of `domain` ("A" or "B") and check that the file contains it."""
    model, meta = load_score_model(path, device)
    if meta.get("domain") != domain:
        found = meta.get("domain") or f"the {meta.get('direction')} direction model"
        raise ValueError(
            f"{path} contains {found}, not the unconditional model of domain {domain}; "
            "rerun the train_domain_models rule"
        )
    if model.config.cond_channels != 0:
        raise ValueError(f"{path} contains a conditional model; rerun the train_domain_models rule")
    return model, meta


def train_domain_models(
    train_data: dict,
    model_config: UNetConfig,
    train_config: TrainConfig,
    model_paths: dict[str, str | Path],
    loss_csv: str | Path,
    state_dir: str | Path,
    device: torch.device,
    data_fingerprint: str = "",
    sigma_data: float | None = 0.5,
) -> pd.DataFrame:
    """Train one unconditional score model per domain and write their EMA weights.

    `train_data` contains uint8 tensors `a` [Na, 3, H, W] and `b` [Nb, 3, H, W]
    and the domain names. `model_config` gives the UNet, whose condition
    channels are dropped. `model_paths` maps "A" and "B" to the output files.
    The loss log has the columns loss (the sum), loss_A and loss_B. See
    `sdetranslate.training.fit` for resuming and outputs.
    """
    model_config = unconditional_config(model_config)
    images = {"A": to_model_range(train_data["a"]), "B": to_model_range(train_data["b"])}
    for domain, domain_images in images.items():
        check_image_size(domain_images, model_config, f"domain {domain} images")
        images[domain] = domain_images.to(device)

    sde = VPSDE(train_config.beta_min, train_config.beta_max)
    torch.manual_seed(train_config.seed)
    models = {
        domain: NoisePredictor(ConditionalUNet(model_config), sde, sigma_data).to(device)
        for domain in DOMAIN_KEYS
    }
    score_fns = {domain: get_score_fn(sde, model) for domain, model in models.items()}

    def compute_losses(batches: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        losses = {}
        for domain in DOMAIN_KEYS:
            batch = images[domain][batches[domain]]
            losses[f"loss_{domain}"] = score_matching_loss(
                score_fns[domain], sde, batch, no_condition(batch), train_config.eps
            )
        return {"loss": sum(losses.values()), **losses}

    logger.info(
        "training one unconditional model of %d parameters per domain on %d domain A and %d "
        "domain B images of %dx%d, batch size %d",
        sum(p.numel() for p in models["A"].parameters()),
        images["A"].shape[0],
        images["B"].shape[0],
        model_config.image_size,
        model_config.image_size,
        train_config.batch_size,
    )
    # Separate seeds shuffle the two domains independently, as in cycle-consistent training.
    samplers = {
        "A": EpochSampler(images["A"].shape[0], train_config.batch_size, train_config.seed),
        "B": EpochSampler(images["B"].shape[0], train_config.batch_size, train_config.seed + 1),
    }
    return fit(
        models,
        compute_losses,
        samplers,
        train_config,
        run_id=fingerprint(
            "domains", asdict(train_config), model_config.to_dict(), sigma_data, data_fingerprint
        ),
        model_paths=model_paths,
        loss_csv=loss_csv,
        state_dir=state_dir,
        device=device,
        domains=list(train_data.get("domains", ["A", "B"])),
    )

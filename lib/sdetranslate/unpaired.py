"""Cycle-consistent training of two conditional score models on unpaired images.

s_θy (the A→B model) generates domain Y = B given an image of X = A, and s_θx
(the B→A model) generates X given an image of Y. Each training step:

1. draws x0 from A and y0 from B, from independently shuffled orders;
2. makes the pseudo-pairs ỹ ~ p(ỹ | x0) and x̃ ~ p(x̃ | y0) with Euler–Maruyama
   samplers that track gradients, then the reconstructions y_r ~ p(y_r | x̃) and
   x_r ~ p(x_r | ỹ) the same way;
3. minimizes four score-matching terms, L(s_θy; ỹ | x0), L(s_θy; y0 | x̃),
   L(s_θx; x̃ | y0) and L(s_θx; x0 | ỹ), plus λ_cyc times the mean squared
   cycle errors between x0 and x_r and between y0 and y_r.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import torch

from sdetranslate.io import to_model_range
from sdetranslate.losses import score_matching_loss
from sdetranslate.sampling import GlobalNoise, euler_maruyama
from sdetranslate.score import NoisePredictor, get_score_fn
from sdetranslate.sde import VPSDE
from sdetranslate.training import (
    DIRECTIONS,
    EpochSampler,
    TrainConfig,
    build_models,
    check_image_size,
    fingerprint,
    fit,
)
from sdetranslate.unet import UNetConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UnpairedConfig:
    """Settings of the cycle-consistent objective."""

    train_sampler_steps: int = 10
    lambda_cyc: float = 10.0
    detach_pseudo_pairs: bool = False
    gradient_checkpointing: bool = False

    def __post_init__(self):
        if self.train_sampler_steps < 1:
            raise ValueError(f"train_sampler_steps must be at least 1, got {self.train_sampler_steps}")
        if self.lambda_cyc < 0:
            raise ValueError(f"lambda_cyc must not be negative, got {self.lambda_cyc}")


def sample_in_training(
    model: NoisePredictor,
    sde: VPSDE,
    cond: torch.Tensor,
    n_steps: int,
    eps: float,
    gradient_checkpointing: bool,
) -> torch.Tensor:
    """Translate `cond` with Euler–Maruyama while tracking gradients through every step.

    The sampler uses the live (not the EMA) weights with dropout off, so that the
    pseudo-pairs are deterministic given the noise, and the model is put back in
    training mode afterwards. With `gradient_checkpointing`, each sampler step
    is recomputed in the backward pass instead of storing its activations.
    """
    score_fn = get_score_fn(sde, model)

    def score_without_dropout(x: torch.Tensor, c: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        # Each call, the recomputation in the backward pass included, runs in eval mode.
        was_training = model.training
        model.eval()
        try:
            return score_fn(x, c, t)
        finally:
            model.train(was_training)

    return euler_maruyama(
        score_without_dropout,
        sde,
        cond,
        n_steps,
        eps,
        GlobalNoise(cond.shape[0]),
        checkpoint_steps=gradient_checkpointing,
    )


def unpaired_losses(
    models: dict[str, NoisePredictor],
    sde: VPSDE,
    x0: torch.Tensor,
    y0: torch.Tensor,
    config: UnpairedConfig,
    eps: float,
) -> dict[str, torch.Tensor]:
    """Return the cycle-consistent objective and its terms for one batch of x0 (A) and y0 (B)."""
    model_y, model_x = models["AtoB"], models["BtoA"]
    steps, checkpointing = config.train_sampler_steps, config.gradient_checkpointing
    y_tilde = sample_in_training(model_y, sde, x0, steps, eps, checkpointing)
    x_tilde = sample_in_training(model_x, sde, y0, steps, eps, checkpointing)
    y_rec = sample_in_training(model_y, sde, x_tilde, steps, eps, checkpointing)
    x_rec = sample_in_training(model_x, sde, y_tilde, steps, eps, checkpointing)

    # With detach_pseudo_pairs, no gradient reaches the samplers through the
    # pseudo-pairs where they serve as score-matching targets.
    y_target = y_tilde.detach() if config.detach_pseudo_pairs else y_tilde
    x_target = x_tilde.detach() if config.detach_pseudo_pairs else x_tilde
    score_y, score_x = get_score_fn(sde, model_y), get_score_fn(sde, model_x)
    terms = {
        "score_y_pseudo": score_matching_loss(score_y, sde, y_target, x0, eps),
        "score_y_real": score_matching_loss(score_y, sde, y0, x_tilde, eps),
        "score_x_pseudo": score_matching_loss(score_x, sde, x_target, y0, eps),
        "score_x_real": score_matching_loss(score_x, sde, x0, y_tilde, eps),
        "cycle_x": (x_rec - x0).pow(2).mean(),
        "cycle_y": (y_rec - y0).pow(2).mean(),
    }
    loss_a_to_b = terms["score_y_pseudo"] + terms["score_y_real"]
    loss_b_to_a = terms["score_x_pseudo"] + terms["score_x_real"]
    loss_cycle = config.lambda_cyc * (terms["cycle_x"] + terms["cycle_y"])
    return {
        "loss": loss_a_to_b + loss_b_to_a + loss_cycle,
        "loss_AtoB": loss_a_to_b,
        "loss_BtoA": loss_b_to_a,
        "loss_cycle": loss_cycle,
        **terms,
    }


def train_unpaired(
    train_data: dict,
    model_config: UNetConfig,
    train_config: TrainConfig,
    unpaired_config: UnpairedConfig,
    model_paths: dict[str, str | Path],
    loss_csv: str | Path,
    state_dir: str | Path,
    device: torch.device,
    data_fingerprint: str = "",
    sigma_data: float | None = 0.5,
) -> pd.DataFrame:
    """Train the A→B and B→A score models on unpaired images and write their EMA weights.

    `train_data` contains uint8 tensors `a` [Na, 3, H, W] and `b` [Nb, 3, H, W],
    which need not be the same size or order, and the domain names. See
    `sdetranslate.training.fit` for resuming and outputs.
    """
    a_images = to_model_range(train_data["a"])
    b_images = to_model_range(train_data["b"])
    check_image_size(a_images, model_config, "domain A images")
    check_image_size(b_images, model_config, "domain B images")
    a_images, b_images = a_images.to(device), b_images.to(device)

    sde = VPSDE(train_config.beta_min, train_config.beta_max)
    models = build_models(model_config, sde, sigma_data, device, train_config.seed)

    def compute_losses(batches: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return unpaired_losses(
            models, sde, a_images[batches["a"]], b_images[batches["b"]], unpaired_config, train_config.eps
        )

    logger.info(
        "training two models on %d domain A and %d domain B images of %dx%d, batch size %d, "
        "%d in-loop sampler steps, lambda_cyc %g, detach_pseudo_pairs %s, gradient_checkpointing %s",
        a_images.shape[0],
        b_images.shape[0],
        model_config.image_size,
        model_config.image_size,
        train_config.batch_size,
        unpaired_config.train_sampler_steps,
        unpaired_config.lambda_cyc,
        unpaired_config.detach_pseudo_pairs,
        unpaired_config.gradient_checkpointing,
    )
    logger.info(
        "in-loop samplers use the live weights with dropout off; evaluation sampling uses the EMA weights"
    )
    # Separate seeds shuffle the two domains independently, so image i of A is
    # not always drawn with image i of B.
    samplers = {
        "a": EpochSampler(a_images.shape[0], train_config.batch_size, train_config.seed),
        "b": EpochSampler(b_images.shape[0], train_config.batch_size, train_config.seed + 1),
    }
    return fit(
        models,
        compute_losses,
        samplers,
        train_config,
        run_id=fingerprint(
            "unpaired",
            asdict(train_config),
            asdict(unpaired_config),
            model_config.to_dict(),
            sigma_data,
            data_fingerprint,
        ),
        model_paths=model_paths,
        loss_csv=loss_csv,
        state_dir=state_dir,
        device=device,
        domains=list(train_data.get("domains", ["A", "B"])),
    )


__all__ = ["DIRECTIONS", "UnpairedConfig", "sample_in_training", "train_unpaired", "unpaired_losses"]

"""Denoising score-matching losses."""

from __future__ import annotations

import torch

from sdetranslate.score import ScoreFn
from sdetranslate.sde import VPSDE, _broadcast


def score_matching_loss(
    score_fn: ScoreFn,
    sde: VPSDE,
    x0: torch.Tensor,
    cond: torch.Tensor,
    eps: float = 1e-3,
    reduce_mean: bool = True,
) -> torch.Tensor:
    """Return the batch mean of ‖σ_t s_θ(x_t, c, t) + z‖².

    t is drawn uniformly from [eps, T] and x_t = α_t x_0 + σ_t z with z ~ N(0, I),
    both from torch's default generator on x0's device. With `reduce_mean` the
    squared norm is divided by the number of elements per image, which keeps the
    loss near 1 at initialization and changes no minimizer.
    """
    batch = x0.shape[0]
    t = torch.rand(batch, device=x0.device) * (sde.T - eps) + eps
    z = torch.randn_like(x0)
    mean, sigma_t = sde.marginal_prob(x0, t)
    x_t = mean + _broadcast(sigma_t, x0) * z
    score = score_fn(x_t, cond, t)
    squared_error = (_broadcast(sigma_t, x0) * score + z).pow(2).reshape(batch, -1)
    per_image = squared_error.mean(dim=1) if reduce_mean else squared_error.sum(dim=1)
    return per_image.mean()

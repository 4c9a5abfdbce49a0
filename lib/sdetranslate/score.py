"""Noise-predicting networks and the score functions built from them."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from sdetranslate.sde import VPSDE, _broadcast

ScoreFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class NoisePredictor(nn.Module):
    """Predicts the noise z of x_t = α_t x_0 + σ_t z from (x_t, c, t) with a conditional network.

    With `sigma_data` set, the network is preconditioned as in EDM (Karras et al.,
    2022), rewritten for noise prediction on the VP-SDE:

        z_hat = c_skip x_t + c_out F(c_in x_t, c, t),  v_t = α_t² σ_data² + σ_t²,
        c_in = 1 / √v_t,  c_skip = σ_t / v_t,  c_out = α_t σ_data / √v_t.

    c_skip x_t is the exact noise prediction for zero-mean Gaussian data of std
    sigma_data, c_in gives the network inputs of unit variance, and c_out scales
    its output to the variance of what remains to be predicted. Near t = 1 the
    noise is then predicted almost exactly by construction, which keeps the
    reverse-time sampler from drifting while the network is still undertrained.
    With `sigma_data=None` the network output is the noise prediction itself.
    """

    def __init__(self, network: nn.Module, sde: VPSDE, sigma_data: float | None = 0.5):
        super().__init__()
        if sigma_data is not None and sigma_data <= 0:
            raise ValueError(f"sigma_data must be positive or None, got {sigma_data}")
        self.network = network
        self.sde = sde
        self.sigma_data = sigma_data

    @property
    def config(self):
        return self.network.config

    def forward(self, x: torch.Tensor, cond: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if self.sigma_data is None:
            return self.network(x, cond, t)
        alpha_t = _broadcast(torch.exp(self.sde.log_mean_coeff(t)), x)
        _, sigma_t = self.sde.marginal_prob(torch.zeros_like(x[:, :1]), t)
        sigma_t = _broadcast(sigma_t, x)
        variance = alpha_t**2 * self.sigma_data**2 + sigma_t**2
        c_in = torch.rsqrt(variance)
        c_skip = sigma_t / variance
        c_out = alpha_t * self.sigma_data * c_in
        return c_skip * x + c_out * self.network(c_in * x, cond, t)


def get_score_fn(sde: VPSDE, model: nn.Module) -> ScoreFn:
    """Wrap a network that predicts the noise z into the score s_θ(x, c, t) = -model(x, c, t) / σ_t.

    With x_t = α_t x_0 + σ_t z, the score of p_t(x_t | x_0) is -z / σ_t, so a
    network trained to predict z gives the score after division by σ_t. The
    loss ‖σ_t s_θ + z‖² then becomes the noise-prediction loss ‖z - model‖².
    """

    def score_fn(x: torch.Tensor, cond: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        _, sigma_t = sde.marginal_prob(torch.zeros_like(x[:, :1]), t)
        return -model(x, cond, t) / _broadcast(sigma_t, x)

    return score_fn

"""Stochastic differential equations that diffuse images to Gaussian noise."""

from __future__ import annotations

import torch


def _broadcast(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape a per-sample vector of shape [B] so it broadcasts against `like`."""
    return values.reshape(values.shape[0], *([1] * (like.dim() - 1)))


class VPSDE:
    """Variance-preserving SDE dx = -½β(t)x dt + √β(t) dw.

    The noise schedule is linear, β(t) = β_min + t(β_max - β_min) on [0, T].
    """

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0, T: float = 1.0):
        if not 0 < beta_min < beta_max:
            raise ValueError(
                f"VPSDE needs 0 < beta_min < beta_max, got beta_min={beta_min}, beta_max={beta_max}"
            )
        if T <= 0:
            raise ValueError(f"VPSDE needs T > 0, got T={T}")
        self.beta_min = float(beta_min)
        self.beta_max = float(beta_max)
        self.T = float(T)

    def beta(self, t: torch.Tensor) -> torch.Tensor:
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def sde(self, x: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the drift f(x, t) and the diffusion coefficient g(t), both broadcastable to x."""
        beta_t = _broadcast(self.beta(t), x)
        drift = -0.5 * beta_t * x
        diffusion = torch.sqrt(beta_t)
        return drift, diffusion

    def log_mean_coeff(self, t: torch.Tensor) -> torch.Tensor:
        """Return log α_t = -¼t²(β_max - β_min) - ½tβ_min, the log of the mean's scale."""
        return -0.25 * t**2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min

    def marginal_prob(self, x: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the mean α_t x_0 and the std σ_t of the perturbation kernel p_t(x | x_0).

        The std has shape [B] so that callers can broadcast it themselves.
        """
        log_mean_coeff = self.log_mean_coeff(t)
        mean = torch.exp(_broadcast(log_mean_coeff, x)) * x
        # 1 - exp(2 log α_t) loses precision for small t, expm1 keeps it.
        std = torch.sqrt(-torch.expm1(2.0 * log_mean_coeff))
        return mean, std

    def prior_sampling(
        self, shape: tuple[int, ...], generator: torch.Generator | None = None, device=None
    ) -> torch.Tensor:
        """Draw from the prior N(0, I) that the SDE reaches at t = T."""
        return torch.randn(shape, generator=generator, device=device)

    def prior_logp(self, z: torch.Tensor) -> torch.Tensor:
        """Return the log density of the N(0, I) prior for each sample in a batch."""
        n = z[0].numel()
        flat = z.reshape(z.shape[0], -1)
        return -0.5 * n * torch.log(torch.tensor(2.0 * torch.pi)) - 0.5 * (flat**2).sum(dim=1)

    def log_snr(self, t: torch.Tensor) -> torch.Tensor:
        """Return the half log signal-to-noise ratio λ_t = log α_t - log σ_t."""
        log_mean_coeff = self.log_mean_coeff(t)
        return log_mean_coeff - 0.5 * torch.log(-torch.expm1(2.0 * log_mean_coeff))

    def time_from_log_snr(self, log_snr: torch.Tensor) -> torch.Tensor:
        """Return the t in [0, T] whose λ_t is `log_snr`, the inverse of `log_snr`.

        From α_t² = 1 / (1 + exp(-2λ)) follows log α_t = -½ softplus(-2λ), and t is
        the positive root of ¼(β_max - β_min)t² + ½β_min t + log α_t = 0.
        """
        log_alpha = -0.5 * torch.nn.functional.softplus(-2.0 * log_snr)
        beta_range = self.beta_max - self.beta_min
        discriminant = self.beta_min**2 - 4.0 * beta_range * log_alpha
        return (torch.sqrt(discriminant) - self.beta_min) / beta_range

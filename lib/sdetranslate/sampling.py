"""Samplers for the reverse-time SDE, conditioned on a source image.

Samplers live in a registry so that a config can name them. Each one is
called as `sampler(score_fn, sde, cond, n_steps, eps, noise)` and returns the
translated batch at t = eps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.utils.checkpoint

from sdetranslate.score import ScoreFn
from sdetranslate.sde import VPSDE


class NoiseSource:
    """Gaussian noise drawn per image from its own seeded generator.

    Image i of a batch always receives the same noise sequence for the same seed,
    whatever the batch size or the batch it lands in. The generators run on the
    CPU so that results are the same on every device.
    """

    def __init__(self, seeds: Sequence[int]):
        self.generators = [torch.Generator().manual_seed(int(seed)) for seed in seeds]

    def randn(self, shape: tuple[int, ...], device=None, dtype=torch.float32) -> torch.Tensor:
        """Return noise of shape [len(seeds), *shape]."""
        draws = [torch.randn(shape, generator=generator, dtype=dtype) for generator in self.generators]
        return torch.stack(draws).to(device)


class GlobalNoise:
    """Gaussian noise from torch's default generator, for training-time sampling."""

    def __init__(self, batch_size: int):
        self.batch_size = batch_size

    def randn(self, shape: tuple[int, ...], device=None, dtype=torch.float32) -> torch.Tensor:
        return torch.randn((self.batch_size, *shape), device=device, dtype=dtype)


Sampler = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class SamplerSpec:
    """A registered sampler and its cost in score-network evaluations (NFE) per step."""

    name: str
    fn: Sampler
    nfe_per_step: int


SAMPLERS: dict[str, SamplerSpec] = {}


def register_sampler(name: str, nfe_per_step: int = 1) -> Callable[[Sampler], Sampler]:
    def decorator(fn: Sampler) -> Sampler:
        if name in SAMPLERS:
            raise ValueError(f"a sampler named {name!r} is already registered")
        SAMPLERS[name] = SamplerSpec(name=name, fn=fn, nfe_per_step=nfe_per_step)
        return fn

    return decorator


def get_sampler(name: str) -> SamplerSpec:
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; registered samplers: {sorted(SAMPLERS)}")
    return SAMPLERS[name]


def time_grid(sde: VPSDE, n_steps: int, eps: float, device=None) -> torch.Tensor:
    """Return the n_steps + 1 times from T down to eps that the reverse-time samplers step through."""
    if n_steps < 1:
        raise ValueError(f"n_steps must be at least 1, got {n_steps}")
    if not 0 < eps < sde.T:
        raise ValueError(f"eps must lie in (0, T={sde.T}), got {eps}")
    grid = torch.linspace(sde.T, eps, n_steps + 1, device=device)
    # linspace may round the last point; the grid must end exactly at eps, never below.
    grid[-1] = eps
    return grid


def _euler_maruyama_step(
    score_fn: ScoreFn,
    sde: VPSDE,
    x: torch.Tensor,
    cond: torch.Tensor,
    t: torch.Tensor,
    dt: torch.Tensor,
    z: torch.Tensor | None,
) -> torch.Tensor:
    drift, diffusion = sde.sde(x, t)
    x = x + (drift - diffusion**2 * score_fn(x, cond, t)) * dt
    if z is not None:
        x = x + diffusion * torch.sqrt(-dt) * z
    return x


@register_sampler("em", nfe_per_step=1)
def euler_maruyama(
    score_fn: ScoreFn,
    sde: VPSDE,
    cond: torch.Tensor,
    n_steps: int,
    eps: float,
    noise: NoiseSource | GlobalNoise,
    checkpoint_steps: bool = False,
) -> torch.Tensor:
    """Integrate the reverse-time SDE dx = [f(x, t) - g(t)² s_θ(x, c, t)] dt + g(t) dw̄ with Euler–Maruyama.

    The score is evaluated at the first n_steps points of the grid from T to eps,
    so n_steps is exactly the number of network evaluations. The last update lands
    on t = eps and adds no noise, so the result is the mean of the final step.
    x_T is drawn from the VP-SDE prior N(0, I).

    With `checkpoint_steps` and gradients enabled, each step's activations are
    recomputed in the backward pass instead of stored, so memory keeps one step's
    activations plus the N iterates. The noise is drawn outside the recomputed
    region, so the recomputation repeats the forward pass exactly.
    """
    timesteps = time_grid(sde, n_steps, eps, device=cond.device)
    image_shape = tuple(cond.shape[1:])
    x = noise.randn(image_shape, device=cond.device)
    batch_ones = torch.ones(cond.shape[0], device=cond.device)
    use_checkpoint = checkpoint_steps and torch.is_grad_enabled()
    for index in range(n_steps):
        t = timesteps[index] * batch_ones
        dt = timesteps[index + 1] - timesteps[index]
        last = index == n_steps - 1
        z = None if last else noise.randn(image_shape, device=cond.device)
        if use_checkpoint:
            x = torch.utils.checkpoint.checkpoint(
                _euler_maruyama_step, score_fn, sde, x, cond, t, dt, z, use_reentrant=False
            )
        else:
            x = _euler_maruyama_step(score_fn, sde, x, cond, t, dt, z)
    return x

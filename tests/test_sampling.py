"""Euler–Maruyama sampling with the exact score of Gaussian data.

For data x_0 ~ N(μ, s²I) the VP-SDE marginal is p_t = N(α_t μ, (α_t² s² + σ_t²) I),
so the score is known in closed form and the sampler's output distribution can
be checked against N(μ, s²I) without a trained network.
"""

import pytest
import torch

from sdetranslate.sampling import NoiseSource, SAMPLERS, euler_maruyama, get_sampler, time_grid
from sdetranslate.sde import VPSDE

MU, S = 0.5, 0.2
EPS = 1e-3


def gaussian_score(sde):
    def score_fn(x, cond, t):
        alpha = torch.exp(sde.log_mean_coeff(t)).reshape(-1, *([1] * (x.dim() - 1)))
        variance = alpha**2 * S**2 + 1 - alpha**2
        return -(x - alpha * MU) / variance

    return score_fn


def sample_gaussian(n_steps, n_images=4000):
    sde = VPSDE()
    cond = torch.zeros(n_images, 1, 2, 2)
    noise = NoiseSource(range(n_images))
    return euler_maruyama(gaussian_score(sde), sde, cond, n_steps, EPS, noise)


def test_em_matches_gaussian_target_at_1000_steps():
    samples = sample_gaussian(1000)
    # Tolerance: 4000 x 4 draws give a standard error of 0.0016 on the mean;
    # the discretization error at N = 1000 is below 0.01 on both moments.
    assert samples.mean().item() == pytest.approx(MU, abs=0.01)
    assert samples.std().item() == pytest.approx(S, abs=0.01)


def test_em_stays_near_target_at_10_steps():
    samples = sample_gaussian(10)
    assert torch.isfinite(samples).all()
    # A grid that stepped past eps to t = 0 or below would blow up here.
    assert samples.mean().item() == pytest.approx(MU, abs=0.05)
    assert samples.std().item() == pytest.approx(S, abs=0.1)


def test_time_grid_ends_exactly_at_eps():
    grid = time_grid(VPSDE(), 10, EPS)
    assert grid.shape == (11,)
    assert grid[0].item() == 1.0
    assert grid[-1].item() == torch.tensor(EPS).item()
    assert (grid[:-1] > EPS).all()


def test_em_uses_exactly_n_score_evaluations():
    sde = VPSDE()
    times = []

    def counting_score(x, cond, t):
        times.append(t[0].item())
        return torch.zeros_like(x)

    euler_maruyama(counting_score, sde, torch.zeros(2, 1, 2, 2), 7, EPS, NoiseSource([0, 1]))
    assert len(times) == 7
    assert times[0] == 1.0
    assert min(times) > EPS


def test_em_results_do_not_depend_on_batching():
    sde = VPSDE()
    score = gaussian_score(sde)
    cond = torch.zeros(6, 1, 3, 3)
    together = euler_maruyama(score, sde, cond, 20, EPS, NoiseSource(range(6)))
    first = euler_maruyama(score, sde, cond[:2], 20, EPS, NoiseSource(range(2)))
    rest = euler_maruyama(score, sde, cond[2:], 20, EPS, NoiseSource(range(2, 6)))
    torch.testing.assert_close(together, torch.cat([first, rest]))


def test_sampler_registry_lists_em():
    assert "em" in SAMPLERS
    assert get_sampler("em").nfe(7) == 7
    with pytest.raises(ValueError, match="unknown sampler 'nope'"):
        get_sampler("nope")


class ZeroNetwork(torch.nn.Module):
    def forward(self, x, cond, t):
        return torch.zeros_like(x)


def test_preconditioned_zero_network_samples_gaussian_of_sigma_data():
    from sdetranslate.score import NoisePredictor, get_score_fn

    sde = VPSDE()
    # With F = 0 the preconditioned prediction is the exact noise of N(0, sigma_data² I) data.
    model = NoisePredictor(ZeroNetwork(), sde, sigma_data=0.3)
    cond = torch.zeros(4000, 1, 2, 2)
    samples = euler_maruyama(get_score_fn(sde, model), sde, cond, 1000, EPS, NoiseSource(range(4000)))
    assert samples.mean().item() == pytest.approx(0.0, abs=0.01)
    assert samples.std().item() == pytest.approx(0.3, abs=0.01)


def test_unpreconditioned_predictor_returns_network_output():
    from sdetranslate.score import NoisePredictor

    model = NoisePredictor(ZeroNetwork(), VPSDE(), sigma_data=None)
    x = torch.randn(2, 3, 4, 4)
    assert torch.equal(model(x, x, torch.rand(2)), torch.zeros_like(x))

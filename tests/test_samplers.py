"""Registered samplers and the probability-flow ODE, checked with the exact score of Gaussian data.

For data x_0 ~ N(μ, s²I) the VP-SDE marginal is p_t = N(α_t μ, (α_t² s² + σ_t²) I),
so each sampler's output can be compared with N(μ, s²I) without a trained network.
"""

import pytest
import torch

from sdetranslate.sampling import (
    SAMPLERS,
    NoiseSource,
    get_sampler,
    heun_integrate,
    ode_time_grid,
    probability_flow_ode,
)
from sdetranslate.sde import VPSDE

MU, S = 0.5, 0.2
EPS = 1e-3


def gaussian_score(sde):
    def score_fn(x, cond, t):
        alpha = torch.exp(sde.log_mean_coeff(t)).reshape(-1, *([1] * (x.dim() - 1)))
        variance = alpha**2 * S**2 + 1 - alpha**2
        return -(x - alpha * MU) / variance

    return score_fn


def sample(name, n_steps, image_shape=(1, 2, 2), n_images=4000, seed_offset=0, **settings):
    sde = VPSDE()
    cond = torch.zeros(n_images, *image_shape)
    noise = NoiseSource(range(seed_offset, seed_offset + n_images))
    return get_sampler(name).fn(gaussian_score(sde), sde, cond, n_steps, EPS, noise, **settings)


def moment_error(samples):
    return abs(samples.mean().item() - MU) + abs(samples.std().item() - S)


# NFE budgets at which each sampler's mean and std lie within 0.01 of the target;
# `em` needs 1000 (tests/test_sampling.py). 4000 x 4 draws give a standard error
# of 0.0016 on the mean. `pc` runs on 64 images of 8 x 8. Its Langevin step size
# uses per-image norms, and on 4-pixel images these fluctuate so much that the
# std comes out 0.09 too large at 1000 steps. Measured errors (mean, std): em_denoise 200: (0.002, -0.003);
# pc 400: (0.001, 0.003); ode_heun 51: (-0.004, -0.001); dpm_solver 10: (-0.003, -0.001).
GAUSSIAN_CASES = [
    ("em_denoise", 200, {}),
    ("pc", 400, {"image_shape": (1, 8, 8), "n_images": 64}),
    ("pc", 400, {"image_shape": (1, 8, 8), "n_images": 64, "predictor": "reverse_diffusion"}),
    ("ode_heun", 51, {}),
    ("dpm_solver", 10, {}),
]


@pytest.mark.parametrize(("name", "n_steps", "options"), GAUSSIAN_CASES)
def test_sampler_matches_gaussian_target(name, n_steps, options):
    samples = sample(name, n_steps, **options)
    assert torch.isfinite(samples).all()
    assert samples.mean().item() == pytest.approx(MU, abs=0.01)
    assert samples.std().item() == pytest.approx(S, abs=0.01)


def test_dpm_solver_beats_em_at_10_steps():
    # Measured: dpm_solver 0.004, em 0.063 (sum of the mean and std errors).
    dpm_error = moment_error(sample("dpm_solver", 10))
    em_error = moment_error(sample("em", 10))
    assert dpm_error < em_error / 5


@pytest.mark.parametrize("name", ["ode_heun", "dpm_solver"])
def test_ode_sampler_is_bit_deterministic(name):
    first = sample(name, 9, n_images=16)
    second = sample(name, 9, n_images=16)
    assert torch.equal(first, second)
    other_noise = sample(name, 9, n_images=16, seed_offset=100)
    assert not torch.equal(first, other_noise)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_sampler_results_do_not_depend_on_batching(name):
    sde = VPSDE()
    score = gaussian_score(sde)
    cond = torch.zeros(6, 1, 3, 3)
    sampler = get_sampler(name).fn
    together = sampler(score, sde, cond, 8, EPS, NoiseSource(range(6)))
    first = sampler(score, sde, cond[:2], 8, EPS, NoiseSource(range(2)))
    rest = sampler(score, sde, cond[2:], 8, EPS, NoiseSource(range(2, 6)))
    torch.testing.assert_close(together, torch.cat([first, rest]))


def test_ode_encode_then_decode_returns_input():
    sde = VPSDE()
    score = gaussian_score(sde)
    x0 = MU + S * torch.randn(64, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    cond = torch.zeros_like(x0)
    latent = probability_flow_ode(score, sde, x0, cond, EPS, sde.T, 50)
    # The latent at T follows the prior N(0, I), whose std is 1 (measured 0.991).
    assert latent.std().item() == pytest.approx(1.0, abs=0.05)
    decoded = probability_flow_ode(score, sde, latent, cond, sde.T, EPS, 50)
    # Measured max error: 4.4e-4 at 50 Heun steps each way, 0.007 at 20.
    assert (decoded - x0).abs().max().item() < 1e-3


def count_evaluations(name, n_steps, **settings):
    sde = VPSDE()
    times = []

    def counting_score(x, cond, t):
        times.append(t[0].item())
        return torch.zeros_like(x)

    get_sampler(name).fn(
        counting_score, sde, torch.zeros(2, 1, 2, 2), n_steps, EPS, NoiseSource([0, 1]), **settings
    )
    return times


NFE_CASES = [
    ("em", 7, {}, 7),
    ("em_denoise", 7, {}, 7),
    ("pc", 7, {}, 6),
    ("pc", 7, {"n_corrector_steps": 2}, 6),
    ("pc", 7, {"n_corrector_steps": 0, "predictor": "reverse_diffusion"}, 7),
    ("ode_heun", 1, {}, 1),
    ("ode_heun", 7, {}, 7),
    ("ode_heun", 10, {"spacing": "uniform"}, 9),
    ("dpm_solver", 1, {}, 1),
    ("dpm_solver", 7, {}, 7),
]


@pytest.mark.parametrize(("name", "n_steps", "settings", "expected"), NFE_CASES)
def test_registry_counts_score_evaluations(name, n_steps, settings, expected):
    times = count_evaluations(name, n_steps, **settings)
    assert len(times) == expected
    assert get_sampler(name).nfe(n_steps, **settings) == expected
    assert times[0] == 1.0


@pytest.mark.parametrize("name", ["em", "pc", "ode_heun", "dpm_solver"])
def test_samplers_never_evaluate_below_eps(name):
    times = count_evaluations(name, 9)
    assert min(times) > EPS


def test_em_denoise_evaluates_once_at_eps():
    times = count_evaluations("em_denoise", 5)
    assert times[-1] == pytest.approx(EPS)
    assert min(times[:-1]) > EPS


@pytest.mark.parametrize(
    ("name", "n_steps", "settings", "message"),
    [
        ("em", 0, {}, "at least 1"),
        ("em_denoise", 1, {}, "at least 2"),
        ("pc", 2, {"n_corrector_steps": 2}, "at least 3"),
        ("pc", 4, {"predictor": "langevin"}, "unknown pc predictor"),
        ("pc", 4, {"snr": 0.0}, "snr must be positive"),
        ("ode_heun", 4, {"spacing": "cosine"}, "unknown ODE time spacing"),
        ("dpm_solver", 0, {}, "at least 1"),
    ],
)
def test_invalid_budget_or_setting_raises(name, n_steps, settings, message):
    with pytest.raises(ValueError, match=message):
        get_sampler(name).nfe(n_steps, **settings)


@pytest.mark.parametrize("spacing", ["uniform", "log_snr"])
def test_ode_time_grid_runs_both_directions(spacing):
    sde = VPSDE()
    down = ode_time_grid(sde, 10, sde.T, EPS, spacing)
    up = ode_time_grid(sde, 10, EPS, sde.T, spacing)
    assert down.shape == up.shape == (11,)
    assert down[0].item() == up[-1].item() == sde.T
    assert down[-1].item() == up[0].item() == EPS
    assert (down[1:] < down[:-1]).all()
    assert (up[1:] > up[:-1]).all()


def test_log_snr_grid_is_uniform_in_log_snr():
    sde = VPSDE()
    log_snr = sde.log_snr(ode_time_grid(sde, 10, sde.T, EPS, "log_snr"))
    steps = log_snr[1:] - log_snr[:-1]
    torch.testing.assert_close(steps, torch.full_like(steps, steps.mean().item()))


def test_time_from_log_snr_inverts_log_snr():
    sde = VPSDE()
    t = torch.linspace(1e-4, 1.0, 50, dtype=torch.float64)
    torch.testing.assert_close(sde.time_from_log_snr(sde.log_snr(t)), t)


def test_heun_integrate_rejects_short_grid():
    sde = VPSDE()
    x = torch.zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match="at least 2 times"):
        heun_integrate(gaussian_score(sde), sde, x, x, torch.tensor([1.0]))


def test_sampler_settings_are_checked_by_name():
    assert get_sampler("pc").setting_names == ("predictor", "n_corrector_steps", "snr")
    assert get_sampler("ode_heun").setting_names == ("spacing",)
    assert get_sampler("dpm_solver").setting_names == ()
    get_sampler("pc").check_settings({"snr": 0.1})
    with pytest.raises(ValueError, match=r"sampler 'dpm_solver' has no settings \['snr'\]"):
        get_sampler("dpm_solver").check_settings({"snr": 0.1})

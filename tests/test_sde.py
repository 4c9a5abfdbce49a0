import math

import pytest
import torch

from sdetranslate.sde import VPSDE


@pytest.mark.parametrize("t", [1e-3, 0.1, 0.5, 0.9, 1.0])
def test_marginal_prob_closed_form(t):
    sde = VPSDE(beta_min=0.1, beta_max=20.0)
    x0 = torch.full((1, 3, 4, 4), 0.7)
    mean, std = sde.marginal_prob(x0, torch.tensor([t]))
    # log α_t = -¼t²(β_max - β_min) - ½tβ_min, σ_t² = 1 - α_t²
    alpha = math.exp(-0.25 * t**2 * (20.0 - 0.1) - 0.5 * t * 0.1)
    assert mean[0, 0, 0, 0].item() == pytest.approx(alpha * 0.7, rel=1e-5)
    assert std.item() == pytest.approx(math.sqrt(1 - alpha**2), rel=1e-5)


def test_marginal_prob_matches_simulated_forward_sde():
    sde = VPSDE()
    generator = torch.Generator().manual_seed(0)
    x = torch.full((20000, 1), 0.5)
    n_steps, t_end = 2000, 0.6
    dt = t_end / n_steps
    for index in range(n_steps):
        t = torch.full((x.shape[0],), index * dt)
        drift, diffusion = sde.sde(x, t)
        x = x + drift * dt + diffusion * math.sqrt(dt) * torch.randn(x.shape, generator=generator)
    mean, std = sde.marginal_prob(torch.full((1, 1), 0.5), torch.tensor([t_end]))
    assert x.mean().item() == pytest.approx(mean.item(), abs=0.02)
    assert x.std().item() == pytest.approx(std.item(), abs=0.02)


def test_sde_drift_and_diffusion():
    sde = VPSDE()
    x = torch.ones(2, 3, 2, 2)
    drift, diffusion = sde.sde(x, torch.tensor([0.0, 1.0]))
    assert drift[0].unique().item() == pytest.approx(-0.05)
    assert drift[1].unique().item() == pytest.approx(-10.0)
    assert diffusion.flatten().tolist() == pytest.approx([math.sqrt(0.1), math.sqrt(20.0)])


def test_prior_sampling_shape_and_scale():
    sample = VPSDE().prior_sampling((4000, 3), generator=torch.Generator().manual_seed(1))
    assert sample.shape == (4000, 3)
    assert sample.std().item() == pytest.approx(1.0, abs=0.03)


def test_invalid_betas_rejected():
    with pytest.raises(ValueError, match="beta_min"):
        VPSDE(beta_min=20.0, beta_max=0.1)

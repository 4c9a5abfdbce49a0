import pytest
import torch

from sdetranslate.ema import ExponentialMovingAverage
from sdetranslate.losses import score_matching_loss
from sdetranslate.score import get_score_fn
from sdetranslate.sde import VPSDE


class ConstantNoise(torch.nn.Module):
    """Predicts a fixed noise value, so the loss has a closed form."""

    def __init__(self, value: float):
        super().__init__()
        self.value = value

    def forward(self, x, cond, t):
        return torch.full_like(x, self.value)


def test_loss_of_zero_prediction_is_noise_power():
    torch.manual_seed(0)
    sde = VPSDE()
    x0 = torch.zeros(512, 3, 8, 8)
    loss = score_matching_loss(get_score_fn(sde, ConstantNoise(0.0)), sde, x0, x0)
    # With s_θ = 0 the residual is z, whose mean square is 1.
    assert loss.item() == pytest.approx(1.0, abs=0.01)


def test_loss_of_biased_prediction():
    torch.manual_seed(0)
    sde = VPSDE()
    x0 = torch.zeros(512, 3, 8, 8)
    loss = score_matching_loss(get_score_fn(sde, ConstantNoise(0.5)), sde, x0, x0)
    # σ_t s_θ = -0.5, so the residual z - 0.5 has mean square 1.25.
    assert loss.item() == pytest.approx(1.25, abs=0.01)


def test_score_fn_divides_by_sigma():
    sde = VPSDE()
    score_fn = get_score_fn(sde, ConstantNoise(1.0))
    t = torch.tensor([0.3])
    _, sigma = sde.marginal_prob(torch.zeros(1), t)
    score = score_fn(torch.zeros(1, 1, 1, 1), None, t)
    assert score.item() == pytest.approx(-1.0 / sigma.item())


def test_ema_decay_ramp():
    ema = ExponentialMovingAverage(torch.nn.Linear(1, 1), decay=0.9999)
    assert ema.decay_at(0) == pytest.approx(0.1)
    assert ema.decay_at(90) == pytest.approx(0.91)
    assert ema.decay_at(10**6) == pytest.approx(0.9999)


def test_ema_first_update_follows_weights():
    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    ema = ExponentialMovingAverage(model, decay=0.999)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema.update(model, step=0)
    # Decay 0.1 at step 0: 0.1 * 0 + 0.9 * 1.
    assert ema.shadow[0].item() == pytest.approx(0.9)

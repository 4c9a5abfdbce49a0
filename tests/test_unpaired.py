import pytest
import torch

from sdetranslate.losses import score_matching_loss
from sdetranslate.sampling import GlobalNoise, NoiseSource, euler_maruyama
from sdetranslate.score import get_score_fn
from sdetranslate.sde import VPSDE
from sdetranslate.training import build_models
from sdetranslate.unet import unet_config_from_preset
from sdetranslate.unpaired import UnpairedConfig, sample_in_training, unpaired_losses

EPS = 1e-3
TERMS = ["score_y_pseudo", "score_y_real", "score_x_pseudo", "score_x_real", "cycle_x", "cycle_y"]


def make_models(dropout: float = 0.0):
    sde = VPSDE()
    config = unet_config_from_preset("tiny", 16, dropout=dropout)
    models = build_models(config, sde, 0.5, torch.device("cpu"), seed=0)
    # The output layer starts at zero, which would hide every gradient path behind it.
    for model in models.values():
        torch.nn.init.normal_(model.network.conv_out.weight, std=0.05)
    return sde, models


def batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x0 = torch.rand(2, 3, 16, 16, generator=generator) * 2 - 1
    y0 = torch.rand(2, 3, 16, 16, generator=generator) * 2 - 1
    return x0, y0


def gradients(loss: torch.Tensor, model: torch.nn.Module) -> list[torch.Tensor]:
    grads = torch.autograd.grad(loss, list(model.parameters()), retain_graph=True, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, model.parameters())]


def test_unpaired_loss_has_all_terms():
    sde, models = make_models()
    x0, y0 = batch(0)
    torch.manual_seed(0)
    losses = unpaired_losses(models, sde, x0, y0, UnpairedConfig(train_sampler_steps=3), EPS)
    for name in TERMS:
        assert name in losses
        assert torch.isfinite(losses[name])
    expected = (
        losses["score_y_pseudo"]
        + losses["score_y_real"]
        + losses["score_x_pseudo"]
        + losses["score_x_real"]
        + 10.0 * (losses["cycle_x"] + losses["cycle_y"])
    )
    torch.testing.assert_close(losses["loss"], expected)


def test_unpaired_loss_reaches_both_models():
    sde, models = make_models()
    x0, y0 = batch(0)
    torch.manual_seed(0)
    losses = unpaired_losses(models, sde, x0, y0, UnpairedConfig(train_sampler_steps=3), EPS)
    losses["loss"].backward()
    for direction in ("AtoB", "BtoA"):
        norm = sum(p.grad.norm() ** 2 for p in models[direction].parameters() if p.grad is not None)
        assert norm > 0


def test_cycle_loss_backpropagates_through_samplers():
    sde, models = make_models()
    x0, y0 = batch(1)
    torch.manual_seed(0)
    losses = unpaired_losses(models, sde, x0, y0, UnpairedConfig(train_sampler_steps=3), EPS)
    # x_r comes from the B→A sampler conditioned on ỹ, made by the A→B sampler.
    cycle_grads = gradients(losses["cycle_x"], models["AtoB"])
    assert sum(g.norm() for g in cycle_grads) > 0


def pseudo_target_gradient(detach: bool) -> list[torch.Tensor]:
    sde, models = make_models()
    x0, y0 = batch(2)
    torch.manual_seed(5)
    config = UnpairedConfig(train_sampler_steps=3, detach_pseudo_pairs=detach)
    losses = unpaired_losses(models, sde, x0, y0, config, EPS)
    return gradients(losses["score_y_pseudo"], models["AtoB"])


def test_detach_pseudo_pairs_blocks_target_gradient():
    detached = pseudo_target_gradient(detach=True)

    # The same computation by hand: the pseudo-pair ỹ enters as a constant target.
    sde, models = make_models()
    x0, y0 = batch(2)
    torch.manual_seed(5)
    with torch.no_grad():
        y_tilde = sample_in_training(models["AtoB"], sde, x0, 3, EPS, False)
        x_tilde = sample_in_training(models["BtoA"], sde, y0, 3, EPS, False)
        sample_in_training(models["AtoB"], sde, x_tilde, 3, EPS, False)
        sample_in_training(models["BtoA"], sde, y_tilde, 3, EPS, False)
    loss = score_matching_loss(get_score_fn(sde, models["AtoB"]), sde, y_tilde, x0, EPS)
    by_hand = gradients(loss, models["AtoB"])
    for got, expected in zip(detached, by_hand):
        torch.testing.assert_close(got, expected)


def test_pseudo_pairs_carry_gradient_by_default():
    attached = pseudo_target_gradient(detach=False)
    detached = pseudo_target_gradient(detach=True)
    difference = sum((a - d).norm() for a, d in zip(attached, detached))
    assert difference > 1e-6


def test_gradient_checkpointing_gives_same_gradients():
    results = []
    for checkpointing in (False, True):
        # Dropout is on in training mode, and the recomputed steps must still match.
        sde, models = make_models(dropout=0.1)
        x0, y0 = batch(3)
        torch.manual_seed(7)
        config = UnpairedConfig(train_sampler_steps=4, gradient_checkpointing=checkpointing)
        losses = unpaired_losses(models, sde, x0, y0, config, EPS)
        losses["loss"].backward()
        results.append(
            (losses["loss"].detach(), [p.grad.clone() for m in models.values() for p in m.parameters()])
        )
    (plain_loss, plain_grads), (checked_loss, checked_grads) = results
    torch.testing.assert_close(plain_loss, checked_loss)
    for plain, checked in zip(plain_grads, checked_grads):
        torch.testing.assert_close(plain, checked, rtol=1e-4, atol=1e-6)


def test_in_loop_sampler_turns_dropout_off():
    sde, models = make_models(dropout=0.5)
    model = models["AtoB"]
    model.train()
    x0, _ = batch(4)
    first = sample_in_training(model, sde, x0, 3, EPS, False)
    torch.manual_seed(0)
    replay = euler_maruyama(get_score_fn(sde, model.eval()), sde, x0, 3, EPS, GlobalNoise(2))
    model.train()
    torch.manual_seed(0)
    again = sample_in_training(model, sde, x0, 3, EPS, False)
    torch.testing.assert_close(again, replay)
    assert model.training
    assert first.requires_grad


def test_condition_channel_order_same_in_training_and_sampling():
    sde, models = make_models()
    model = models["AtoB"]
    seen = []
    hook = model.network.conv_in.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    x0 = torch.zeros(2, 3, 16, 16)
    cond = torch.full((2, 3, 16, 16), 0.75)
    score_matching_loss(get_score_fn(sde, model), sde, x0, cond, EPS)
    with torch.no_grad():
        euler_maruyama(get_score_fn(sde, model), sde, cond, 1, EPS, NoiseSource([0, 1]))
    hook.remove()
    assert len(seen) == 2
    for network_input in seen:
        # Channels 0-2 hold the noisy image and channels 3-5 the condition.
        assert torch.all(network_input[:, 3:] == 0.75)
        assert not torch.all(network_input[:, :3] == 0.75)


def test_unpaired_config_rejects_zero_steps():
    with pytest.raises(ValueError, match="train_sampler_steps"):
        UnpairedConfig(train_sampler_steps=0)

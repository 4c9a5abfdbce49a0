"""Training and translation of the GAN baselines, pix2pix (paired) and CycleGAN (unpaired).

pix2pix trains one conditional GAN per direction: the U-Net generator G
against a PatchGAN D whose input is the source image concatenated with a
target or a translation. D minimizes half the binary cross-entropy of real pairs as real
and translated pairs as fake. G minimizes the non-saturating GAN loss
-log D(x, G(x)) plus λ_L1 = 100 times the L1 distance to the target.

CycleGAN trains the ResNet generators G_AB and G_BA with one PatchGAN per
domain under least-squares GAN losses. The generators minimize
(D(G(x)) - 1)², λ = 10 times the L1 cycle losses |G_BA(G_AB(a)) - a| and
|G_AB(G_BA(b)) - b|, and 0.5·λ times the identity losses |G_AB(b) - b| and
|G_BA(a) - a|. Each discriminator minimizes half of (D(real) - 1)² + D(fake)²,
with the fakes drawn through a 50-image history buffer. The learning rate is
constant for the first half of training and decays linearly towards 0 over
the second half.

Both use Adam with lr 2e-4 and β = (0.5, 0.999), weights drawn from
N(0, 0.02²), and the resumable loop of `sdetranslate.training.run_resumable`.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from sdetranslate.evaluation import GAN_SAMPLER
from sdetranslate.gan import (
    HistoryBuffer,
    PatchDiscriminator,
    ResnetGenerator,
    UNetGenerator,
    load_generator,
    patchgan_layers_for,
    save_generator,
)
from sdetranslate.io import save_dataframe_csv, save_torch, to_model_range, to_uint8
from sdetranslate.splits import DIRECTIONS, direction_view
from sdetranslate.training import (
    EpochSampler,
    adam,
    fingerprint,
    remove_training_state,
    run_resumable,
    write_loss_log,
)

logger = logging.getLogger(__name__)

# GAN translations are stored and scored as sampler GAN_SAMPLER with this n_steps.
GAN_N_STEPS = 1
TIMING_COLUMNS = [
    "experiment",
    "direction",
    "method",
    "sampler",
    "n_steps",
    "nfe_per_image",
    "n_images",
    "seconds",
    "seconds_per_image",
    "device",
]


@dataclass(frozen=True)
class GANConfig:
    """Settings of a pix2pix or CycleGAN training run.

    pix2pix uses `dropout` and `lambda_l1`; CycleGAN uses `residual_blocks`,
    `lambda_cyc`, `lambda_identity` (a fraction of `lambda_cyc`) and
    `history_size`. `discriminator_layers` None picks the PatchGAN depth for the
    image size with `sdetranslate.gan.patchgan_layers_for`.
    """

    steps: int
    batch_size: int = 1
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    checkpoint_every: int = 500
    log_every: int = 10
    seed: int = 0
    generator_channels: int = 64
    discriminator_channels: int = 64
    discriminator_layers: int | None = None
    dropout: float = 0.5
    lambda_l1: float = 100.0
    residual_blocks: int = 6
    lambda_cyc: float = 10.0
    lambda_identity: float = 0.5
    history_size: int = 50

    def __post_init__(self):
        checks = {
            "steps": self.steps >= 1,
            "batch_size": self.batch_size >= 1,
            "lr": self.lr > 0,
            "beta1": 0 <= self.beta1 < 1,
            "beta2": 0 <= self.beta2 < 1,
            "checkpoint_every": self.checkpoint_every >= 1,
            "log_every": self.log_every >= 1,
            "generator_channels": self.generator_channels >= 1,
            "discriminator_channels": self.discriminator_channels >= 1,
            "discriminator_layers": self.discriminator_layers is None
            or self.discriminator_layers >= 1,
            "dropout": 0 <= self.dropout < 1,
            "lambda_l1": self.lambda_l1 >= 0,
            "residual_blocks": self.residual_blocks >= 1,
            "lambda_cyc": self.lambda_cyc >= 0,
            "lambda_identity": self.lambda_identity >= 0,
            "history_size": self.history_size >= 0,
        }
        for key, valid in checks.items():
            if not valid:
                raise ValueError(f"invalid GAN setting {key}={getattr(self, key)!r}")


# Keys of an experiment's `training` section that the GAN trainers use; the
# others (warm-up, clipping, EMA) belong to the score models.
GAN_TRAINING_KEYS = ("steps", "batch_size", "checkpoint_every", "log_every", "seed")


def gan_config_from_settings(training: dict, gan: dict) -> GANConfig:
    """Build a GANConfig from the `training` and `gan` sections of an experiment."""
    return GANConfig(**{key: training[key] for key in GAN_TRAINING_KEYS if key in training}, **gan)


def _set_requires_grad(module: nn.Module, flag: bool) -> None:
    for parameter in module.parameters():
        parameter.requires_grad_(flag)


def _check_finite(values: dict[str, torch.Tensor], step: int) -> None:
    for name, value in values.items():
        if not torch.isfinite(value):
            raise FloatingPointError(
                f"GAN loss {name} became {value.item()} at step {step}; lower the learning rate"
            )


def pix2pix_step(
    generator: UNetGenerator,
    discriminator: PatchDiscriminator,
    generator_optimizer: torch.optim.Optimizer,
    discriminator_optimizer: torch.optim.Optimizer,
    source: torch.Tensor,
    target: torch.Tensor,
    lambda_l1: float,
    step: int = 0,
) -> dict[str, torch.Tensor]:
    """Update a pix2pix discriminator, then its generator, on one batch and return the detached losses."""
    fake = generator(source)

    _set_requires_grad(discriminator, True)
    real_logits = discriminator(torch.cat([source, target], dim=1))
    fake_logits = discriminator(torch.cat([source, fake.detach()], dim=1))
    discriminator_loss = 0.5 * (
        F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
        + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    )
    discriminator_optimizer.zero_grad(set_to_none=True)
    discriminator_loss.backward()
    discriminator_optimizer.step()

    _set_requires_grad(discriminator, False)
    fake_logits = discriminator(torch.cat([source, fake], dim=1))
    gan_loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    l1_loss = (fake - target).abs().mean()
    generator_loss = gan_loss + lambda_l1 * l1_loss
    generator_optimizer.zero_grad(set_to_none=True)
    generator_loss.backward()
    generator_optimizer.step()
    _set_requires_grad(discriminator, True)

    losses = {
        "generator": generator_loss.detach(),
        "gan": gan_loss.detach(),
        "l1": l1_loss.detach(),
        "discriminator": discriminator_loss.detach(),
    }
    _check_finite(losses, step)
    return losses


def _least_squares(prediction: torch.Tensor, target_value: float) -> torch.Tensor:
    return (prediction - target_value).pow(2).mean()


def cyclegan_step(
    generators: dict[str, ResnetGenerator],
    discriminators: dict[str, PatchDiscriminator],
    generator_optimizer: torch.optim.Optimizer,
    discriminator_optimizer: torch.optim.Optimizer,
    buffers: dict[str, HistoryBuffer],
    a: torch.Tensor,
    b: torch.Tensor,
    config: GANConfig,
    step: int = 0,
) -> dict[str, torch.Tensor]:
    """Update both CycleGAN generators, then both discriminators, and return the detached losses.

    generators["AtoB"] maps A to B, and discriminators["AtoB"] judges its
    outputs against real B images; "BtoA" is the reverse. "loss_AtoB" is
    the share of the generator objective made of the A→B adversarial term, the
    cycle loss of A images and the identity loss of G_AB.
    """
    g_ab, g_ba = generators["AtoB"], generators["BtoA"]
    d_b, d_a = discriminators["AtoB"], discriminators["BtoA"]

    for discriminator in discriminators.values():
        _set_requires_grad(discriminator, False)
    fake_b = g_ab(a)
    fake_a = g_ba(b)
    gan_ab = _least_squares(d_b(fake_b), 1.0)
    gan_ba = _least_squares(d_a(fake_a), 1.0)
    cycle_a = (g_ba(fake_b) - a).abs().mean()
    cycle_b = (g_ab(fake_a) - b).abs().mean()
    identity_weight = config.lambda_cyc * config.lambda_identity
    if identity_weight > 0:
        identity_b = (g_ab(b) - b).abs().mean()
        identity_a = (g_ba(a) - a).abs().mean()
    else:
        identity_b = identity_a = torch.zeros((), device=a.device)
    loss_ab = gan_ab + config.lambda_cyc * cycle_a + identity_weight * identity_b
    loss_ba = gan_ba + config.lambda_cyc * cycle_b + identity_weight * identity_a
    generator_loss = loss_ab + loss_ba
    generator_optimizer.zero_grad(set_to_none=True)
    generator_loss.backward()
    generator_optimizer.step()

    for discriminator in discriminators.values():
        _set_requires_grad(discriminator, True)
    history_b = buffers["AtoB"].query(fake_b)
    history_a = buffers["BtoA"].query(fake_a)
    discriminator_b = 0.5 * (_least_squares(d_b(b), 1.0) + _least_squares(d_b(history_b), 0.0))
    discriminator_a = 0.5 * (_least_squares(d_a(a), 1.0) + _least_squares(d_a(history_a), 0.0))
    discriminator_optimizer.zero_grad(set_to_none=True)
    (discriminator_a + discriminator_b).backward()
    discriminator_optimizer.step()

    losses = {
        "generator": generator_loss.detach(),
        "loss_AtoB": loss_ab.detach(),
        "loss_BtoA": loss_ba.detach(),
        "gan_AtoB": gan_ab.detach(),
        "gan_BtoA": gan_ba.detach(),
        "cycle_A": cycle_a.detach(),
        "cycle_B": cycle_b.detach(),
        "identity_A": identity_a.detach(),
        "identity_B": identity_b.detach(),
        "discriminator_AtoB": discriminator_b.detach(),
        "discriminator_BtoA": discriminator_a.detach(),
    }
    _check_finite(losses, step)
    return losses


def linear_decay_factor(step: int, steps: int) -> float:
    """Return the learning-rate factor at `step`: 1 for the first half, then linear towards 0.

    The last step (steps - 1) uses 1 / (steps - steps // 2).
    """
    constant = steps // 2
    return 1.0 - max(0, step - constant) / (steps - constant)


def _adam(parameters, config: GANConfig) -> torch.optim.Adam:
    return adam(list(parameters), config.lr, (config.beta1, config.beta2))


def _check_images(images: torch.Tensor, image_size: int, description: str) -> None:
    if images.shape[-2:] != (image_size, image_size):
        raise ValueError(
            f"{description} are {images.shape[-1]}x{images.shape[-2]} but the experiment's "
            f"image_size is {image_size}; prepare the split at that size"
        )


def _write_generators(
    generators: dict[str, nn.Module],
    model_paths: dict[str, str | Path],
    *,
    architecture: str,
    method: str,
    domains: list[str],
    step: int,
) -> None:
    missing = set(DIRECTIONS) - set(model_paths)
    if missing:
        raise ValueError(f"model_paths lacks the directions {sorted(missing)}")
    for direction in DIRECTIONS:
        save_generator(
            model_paths[direction],
            generators[direction],
            architecture=architecture,
            method=method,
            direction=direction,
            domains=domains,
            step=step,
        )
        logger.info("wrote the %s generator %s to %s", method, direction, model_paths[direction])


def train_pix2pix(
    train_data: dict,
    image_size: int,
    config: GANConfig,
    model_paths: dict[str, str | Path],
    loss_csv: str | Path,
    state_dir: str | Path,
    device: torch.device,
    data_fingerprint: str = "",
) -> pd.DataFrame:
    """Train one pix2pix model per direction on paired images and write both generators.

    `train_data` contains uint8 tensors `a` and `b` of shape [N, 3, H, W] and
    the domain names. The loss log has "loss" (the sum of both generator
    losses), "loss_AtoB" and "loss_BtoA" (each generator's loss) and the terms
    of each model. Resuming works as in `sdetranslate.training.run_resumable`.
    """
    a_images = to_model_range(train_data["a"])
    b_images = to_model_range(train_data["b"])
    if a_images.shape != b_images.shape:
        raise ValueError(
            f"paired images differ in shape: a {tuple(a_images.shape)}, b {tuple(b_images.shape)}"
        )
    _check_images(a_images, image_size, "prepared images")
    a_images, b_images = a_images.to(device), b_images.to(device)

    torch.manual_seed(config.seed)
    layers = config.discriminator_layers or patchgan_layers_for(image_size)
    generators = {
        direction: UNetGenerator(image_size, config.generator_channels, config.dropout).to(device)
        for direction in DIRECTIONS
    }
    discriminators = {
        direction: PatchDiscriminator(6, config.discriminator_channels, layers).to(device)
        for direction in DIRECTIONS
    }
    generator_optimizers = {d: _adam(generators[d].parameters(), config) for d in DIRECTIONS}
    discriminator_optimizers = {
        d: _adam(discriminators[d].parameters(), config) for d in DIRECTIONS
    }
    images = {"AtoB": (a_images, b_images), "BtoA": (b_images, a_images)}

    def train_step(step: int, batches: dict[str, torch.Tensor]) -> dict[str, float]:
        values: dict[str, float] = {"lr": config.lr}
        for direction in DIRECTIONS:
            source, target = images[direction]
            losses = pix2pix_step(
                generators[direction],
                discriminators[direction],
                generator_optimizers[direction],
                discriminator_optimizers[direction],
                source[batches["pairs"]],
                target[batches["pairs"]],
                config.lambda_l1,
                step,
            )
            values[f"loss_{direction}"] = losses.pop("generator").item()
            values.update({f"{name}_{direction}": value.item() for name, value in losses.items()})
        values["loss"] = values["loss_AtoB"] + values["loss_BtoA"]
        return values

    n_parameters = sum(p.numel() for p in generators["AtoB"].parameters())
    logger.info(
        "training pix2pix in both directions on %d image pairs of %dx%d, batch size %d: "
        "U-Net generators of %d parameters, PatchGAN discriminators with %d stride-2 layers "
        "(receptive field %dx%d)",
        a_images.shape[0],
        image_size,
        image_size,
        config.batch_size,
        n_parameters,
        layers,
        discriminators["AtoB"].receptive_field,
        discriminators["AtoB"].receptive_field,
    )
    stateful = {}
    for direction in DIRECTIONS:
        stateful[f"generator_{direction}"] = generators[direction]
        stateful[f"discriminator_{direction}"] = discriminators[direction]
        stateful[f"generator_optimizer_{direction}"] = generator_optimizers[direction]
        stateful[f"discriminator_optimizer_{direction}"] = discriminator_optimizers[direction]
    history = run_resumable(
        train_step,
        stateful,
        {"pairs": EpochSampler(a_images.shape[0], config.batch_size, config.seed)},
        steps=config.steps,
        checkpoint_every=config.checkpoint_every,
        log_every=config.log_every,
        run_id=fingerprint("pix2pix", asdict(config), image_size, data_fingerprint),
        state_dir=state_dir,
        device=device,
    )
    _write_generators(
        generators,
        model_paths,
        architecture="unet",
        method="pix2pix",
        domains=list(train_data.get("domains", ["A", "B"])),
        step=config.steps,
    )
    frame = write_loss_log(history, loss_csv, ["step", "loss", "loss_AtoB", "loss_BtoA", "lr"])
    remove_training_state(state_dir)
    return frame


def train_cyclegan(
    train_data: dict,
    image_size: int,
    config: GANConfig,
    model_paths: dict[str, str | Path],
    loss_csv: str | Path,
    state_dir: str | Path,
    device: torch.device,
    data_fingerprint: str = "",
) -> pd.DataFrame:
    """Train CycleGAN on unpaired images and write both generators.

    `train_data` contains uint8 tensors `a` [Na, 3, H, W] and `b` [Nb, 3, H, W]
    and the domain names. The loss log has "loss" (the generator objective),
    "loss_AtoB" and "loss_BtoA" (its shares, see `cyclegan_step`) and every term.
    """
    a_images = to_model_range(train_data["a"])
    b_images = to_model_range(train_data["b"])
    _check_images(a_images, image_size, "domain A images")
    _check_images(b_images, image_size, "domain B images")
    a_images, b_images = a_images.to(device), b_images.to(device)

    torch.manual_seed(config.seed)
    layers = config.discriminator_layers or patchgan_layers_for(image_size)
    generators = {
        direction: ResnetGenerator(config.generator_channels, config.residual_blocks).to(device)
        for direction in DIRECTIONS
    }
    discriminators = {
        direction: PatchDiscriminator(3, config.discriminator_channels, layers).to(device)
        for direction in DIRECTIONS
    }
    generator_optimizer = _adam(
        [p for generator in generators.values() for p in generator.parameters()], config
    )
    discriminator_optimizer = _adam(
        [p for discriminator in discriminators.values() for p in discriminator.parameters()], config
    )
    buffers = {
        direction: HistoryBuffer(config.history_size, seed=config.seed + index, device=device)
        for index, direction in enumerate(DIRECTIONS)
    }

    def train_step(step: int, batches: dict[str, torch.Tensor]) -> dict[str, float]:
        lr = config.lr * linear_decay_factor(step, config.steps)
        for optimizer in (generator_optimizer, discriminator_optimizer):
            for group in optimizer.param_groups:
                group["lr"] = lr
        losses = cyclegan_step(
            generators,
            discriminators,
            generator_optimizer,
            discriminator_optimizer,
            buffers,
            a_images[batches["a"]],
            b_images[batches["b"]],
            config,
            step,
        )
        values = {"loss": losses.pop("generator").item(), "lr": lr}
        values.update({name: value.item() for name, value in losses.items()})
        return values

    n_parameters = sum(p.numel() for p in generators["AtoB"].parameters())
    logger.info(
        "training CycleGAN on %d domain A and %d domain B images of %dx%d, batch size %d: "
        "ResNet generators with %d blocks and %d parameters, PatchGAN discriminators with %d "
        "stride-2 layers (receptive field %dx%d), history buffers of %d images",
        a_images.shape[0],
        b_images.shape[0],
        image_size,
        image_size,
        config.batch_size,
        config.residual_blocks,
        n_parameters,
        layers,
        discriminators["AtoB"].receptive_field,
        discriminators["AtoB"].receptive_field,
        config.history_size,
    )
    stateful = {f"generator_{d}": generators[d] for d in DIRECTIONS}
    stateful.update({f"discriminator_{d}": discriminators[d] for d in DIRECTIONS})
    stateful.update({f"history_{d}": buffers[d] for d in DIRECTIONS})
    stateful["generator_optimizer"] = generator_optimizer
    stateful["discriminator_optimizer"] = discriminator_optimizer
    # Separate seeds shuffle the two domains independently.
    samplers = {
        "a": EpochSampler(a_images.shape[0], config.batch_size, config.seed),
        "b": EpochSampler(b_images.shape[0], config.batch_size, config.seed + 1),
    }
    history = run_resumable(
        train_step,
        stateful,
        samplers,
        steps=config.steps,
        checkpoint_every=config.checkpoint_every,
        log_every=config.log_every,
        run_id=fingerprint("cyclegan", asdict(config), image_size, data_fingerprint),
        state_dir=state_dir,
        device=device,
    )
    _write_generators(
        generators,
        model_paths,
        architecture="resnet",
        method="cyclegan",
        domains=list(train_data.get("domains", ["A", "B"])),
        step=config.steps,
    )
    frame = write_loss_log(history, loss_csv, ["step", "loss", "loss_AtoB", "loss_BtoA", "lr"])
    remove_training_state(state_dir)
    return frame


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def translate_split_gan(
    model_path: str | Path,
    data: dict,
    *,
    experiment: str,
    direction: str,
    seed: int,
    device: torch.device,
    out_path: str | Path,
    timing_csv: str | Path,
) -> dict:
    """Translate the condition images of a prepared split with a trained generator.

    Writes a sample file in the format of `sdetranslate.translate` with
    sampler "gan" and n_steps 1, and a one-row CSV with TIMING_COLUMNS: the
    generator's seconds per image at batch size 1, after one untimed warm-up
    pass. Image i is translated with torch's generator seeded by (seed, i),
    which fixes pix2pix's dropout noise independently of the other images.
    """
    generator, meta = load_generator(model_path, device)
    if meta["direction"] != direction:
        raise ValueError(
            f"{model_path} contains the {meta['direction']} generator, not {direction}"
        )
    view = direction_view(data, direction)
    count = len(view.names)
    if count == 0:
        raise ValueError(f"the split has no {view.source_domain} images to translate")
    logger.info(
        "translating %d images %s with the %s generator of %s (trained for %d steps)",
        count,
        direction,
        meta["method"],
        model_path,
        meta["step"],
    )
    condition = to_model_range(view.condition).to(device)
    outputs = []
    with torch.inference_mode():
        generator(condition[:1])  # warm-up: the first pass allocates memory and picks kernels
        _synchronize(device)
        elapsed = 0.0
        for index in tqdm(
            range(count), desc=f"{meta['method']} {direction}", file=sys.stderr, mininterval=5.0
        ):
            torch.manual_seed(int(np.random.SeedSequence([seed, index]).generate_state(1)[0]))
            started = time.perf_counter()
            result = generator(condition[index : index + 1])
            _synchronize(device)
            elapsed += time.perf_counter() - started
            outputs.append(to_uint8(result.cpu()))
    seconds_per_image = elapsed / count
    logger.info(
        "translated %d images %s in %.3f s (%.2f ms per image, 1 network evaluation each)",
        count,
        direction,
        elapsed,
        1000 * seconds_per_image,
    )
    payload = {
        "images": torch.cat(outputs),
        "image_ids": list(view.names),
        "experiment": experiment,
        "direction": direction,
        "sampler": GAN_SAMPLER,
        "n_steps": GAN_N_STEPS,
        "seed": int(seed),
        "seconds": float(elapsed),
        "method": meta["method"],
    }
    save_torch(payload, out_path)
    timing = pd.DataFrame(
        [
            {
                "experiment": experiment,
                "direction": direction,
                "method": meta["method"],
                "sampler": GAN_SAMPLER,
                "n_steps": GAN_N_STEPS,
                "nfe_per_image": 1,
                "n_images": count,
                "seconds": elapsed,
                "seconds_per_image": seconds_per_image,
                "device": str(device),
            }
        ],
        columns=TIMING_COLUMNS,
    )
    save_dataframe_csv(timing, timing_csv)
    return payload

"""Training of the two direction models, with resumable state.

`run_resumable` is the resumable training loop of every trainer, the GAN
baselines included. `fit` runs the optimization shared by every score-model
task and method: Adam with a linear warm-up, gradient clipping, an EMA of the
weights, a loss log and resumable state.
`train_paired` gives it the paired objective, the sum of the score-matching
losses of s_θ(b | a) for the direction A→B and s_θ(a | b) for B→A. Training
state is saved every `checkpoint_every` steps to a folder outside the rule's
declared outputs, so a killed job continues from its last saved step when it
is run again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from sdetranslate.ema import ExponentialMovingAverage
from sdetranslate.io import load_torch, save_dataframe_csv, save_torch, to_model_range
from sdetranslate.losses import score_matching_loss
from sdetranslate.precision import autocast, check_precision, prepare_model
from sdetranslate.score import NoisePredictor, get_score_fn
from sdetranslate.sde import VPSDE
from sdetranslate.splits import DIRECTIONS
from sdetranslate.unet import ConditionalUNet, UNetConfig

logger = logging.getLogger(__name__)

STATE_FILE = "state.pt"
# Version of the layout of the saved training state; state of another version is ignored.
STATE_FORMAT = "sdetranslate.train_state/2"


@dataclass(frozen=True)
class TrainConfig:
    """Optimization hyperparameters shared by the training loops."""

    steps: int
    batch_size: int = 1
    lr: float = 1e-4
    warmup_steps: int = 1000
    adam_betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float = 1.0
    ema_decay: float = 0.9999
    checkpoint_every: int = 500
    log_every: int = 10
    seed: int = 0
    eps: float = 1e-3
    beta_min: float = 0.1
    beta_max: float = 20.0
    precision: str = "fp32"

    def __post_init__(self):
        check_precision(self.precision)
        checks = {
            "steps": (self.steps >= 1, "at least 1"),
            "batch_size": (self.batch_size >= 1, "at least 1"),
            "lr": (self.lr > 0, "above 0"),
            "warmup_steps": (self.warmup_steps >= 0, "at least 0"),
            "grad_clip": (self.grad_clip > 0, "above 0"),
            "ema_decay": (0 <= self.ema_decay < 1, "in [0, 1)"),
            "checkpoint_every": (self.checkpoint_every >= 1, "at least 1"),
            "log_every": (self.log_every >= 1, "at least 1"),
            "eps": (0 < self.eps < 1, "in (0, 1)"),
        }
        for key, (valid, requirement) in checks.items():
            if not valid:
                raise ValueError(
                    f"invalid training setting {key}={getattr(self, key)!r}; it must be {requirement}"
                )


def train_config_from_settings(training: dict, sde: dict, precision: str = "fp32") -> TrainConfig:
    """Build a TrainConfig from the `training` and `sde` sections and the `precision` of the workflow config."""
    return TrainConfig(
        **training,
        eps=sde["eps"],
        beta_min=sde["beta_min"],
        beta_max=sde["beta_max"],
        precision=precision,
    )


def learning_rate(step: int, config: TrainConfig) -> float:
    """Return the learning rate at optimizer step `step`: a linear warm-up to `lr`, then constant.

    With warmup_steps = 1000 and lr = 1e-4 the first step uses 1e-7.
    """
    if config.warmup_steps == 0:
        return config.lr
    return config.lr * min(1.0, (step + 1) / config.warmup_steps)


def fingerprint(*parts) -> str:
    """Return a short hash of JSON-serializable settings, to tell whether saved state belongs to them."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class EpochSampler:
    """Draws batch indices from a fresh seeded permutation each epoch, with a resumable state."""

    def __init__(self, n_items: int, batch_size: int, seed: int):
        self.n_items = n_items
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.permutation = torch.randperm(n_items, generator=self.generator)
        self.position = 0

    def next_batch(self) -> torch.Tensor:
        indices = []
        while len(indices) < self.batch_size:
            if self.position == self.n_items:
                self.permutation = torch.randperm(self.n_items, generator=self.generator)
                self.position = 0
            take = min(self.batch_size - len(indices), self.n_items - self.position)
            indices.extend(self.permutation[self.position : self.position + take].tolist())
            self.position += take
        return torch.tensor(indices)

    def state_dict(self) -> dict:
        return {
            "generator": self.generator.get_state(),
            "permutation": self.permutation.clone(),
            "position": self.position,
        }

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.permutation = state["permutation"].clone()
        self.position = int(state["position"])


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _restore_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_score_model(
    path: str | Path,
    model: NoisePredictor,
    ema: ExponentialMovingAverage,
    *,
    name: str,
    domains: list[str],
    train_config: TrainConfig,
    step: int,
) -> None:
    """Write the EMA weights of one model, with what sampling needs to rebuild it.

    `name` is a direction ("AtoB", "BtoA") for the conditional models, stored
    under "direction", or a domain ("A", "B") for the unconditional per-domain
    models, stored under "domain".
    """
    ema_model = NoisePredictor(ConditionalUNet(model.config), model.sde, model.sigma_data)
    ema_model.load_state_dict(model.state_dict())
    ema.copy_to(ema_model)
    payload = {
        "format": "sdetranslate.score_model/1",
        "model_config": {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in model.config.to_dict().items()
        },
        "state_dict": {key: value.cpu() for key, value in ema_model.network.state_dict().items()},
        "sigma_data": model.sigma_data,
        "weights": "ema",
        ("direction" if name in DIRECTIONS else "domain"): name,
        "domains": list(domains),
        "sde": {"name": "vpsde", "beta_min": train_config.beta_min, "beta_max": train_config.beta_max},
        "eps": train_config.eps,
        "step": step,
    }
    save_torch(payload, path)


def load_score_model(path: str | Path, device: torch.device) -> tuple[NoisePredictor, dict]:
    """Load a model written by `save_score_model` and return it in eval mode with its metadata."""
    payload = load_torch(path, map_location=device)
    if not isinstance(payload, dict) or payload.get("format") != "sdetranslate.score_model/1":
        raise ValueError(f"{path} is not a score model written by this pipeline; rerun training")
    network = ConditionalUNet(UNetConfig.from_dict(payload["model_config"]))
    network.load_state_dict(payload["state_dict"])
    sde = VPSDE(payload["sde"]["beta_min"], payload["sde"]["beta_max"])
    model = NoisePredictor(network, sde, payload["sigma_data"]).to(device)
    model.eval()
    return model, payload


def build_models(
    model_config: UNetConfig, sde: VPSDE, sigma_data: float | None, device: torch.device, seed: int
) -> dict[str, NoisePredictor]:
    """Create the A→B and B→A noise predictors with weights drawn from `seed`."""
    torch.manual_seed(seed)
    return {
        direction: NoisePredictor(ConditionalUNet(model_config), sde, sigma_data).to(device)
        for direction in DIRECTIONS
    }


def check_image_size(images: torch.Tensor, model_config: UNetConfig, description: str) -> None:
    if images.shape[-1] != model_config.image_size or images.shape[-2] != model_config.image_size:
        raise ValueError(
            f"{description} are {images.shape[-1]}x{images.shape[-2]} but the model expects "
            f"image_size={model_config.image_size}; make both settings equal"
        )


LossFn = Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]


class Stateful(Protocol):
    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> Any: ...


StepFn = Callable[[int, dict[str, torch.Tensor]], dict[str, float]]


def load_training_state(state_path: Path, run_id: str, device: torch.device) -> dict | None:
    """Return the training state saved at `state_path` under `run_id`, or None.

    A missing file returns None. An unreadable file, or one saved under another
    run id or state format, is ignored with a warning, and training starts over.
    """
    if not state_path.exists():
        return None
    try:
        state = load_torch(state_path, map_location=device)
    except ValueError as error:
        logger.warning("ignoring unreadable training state, training starts over: %s", error)
        return None
    if (
        not isinstance(state, dict)
        or state.get("fingerprint") != run_id
        or state.get("format") != STATE_FORMAT
    ):
        logger.warning(
            "ignoring saved training state in %s: it was made with other settings or data",
            state_path.parent,
        )
        return None
    return state


# Optimizer settings that choose a kernel, not the optimization.
KERNEL_SETTINGS = ("fused", "foreach")


def load_stateful(item: Stateful, saved: dict) -> None:
    """Load saved state into `item`. An optimizer keeps its own kernel settings, so that state
    saved by a run with another Adam kernel resumes with the current, faster one."""
    if not isinstance(item, torch.optim.Optimizer):
        item.load_state_dict(saved)
        return
    kernels = [{key: group.get(key) for key in KERNEL_SETTINGS} for group in item.param_groups]
    item.load_state_dict(saved)
    for group, kernel in zip(item.param_groups, kernels):
        group.update(kernel)


def run_resumable(
    step_fn: StepFn,
    stateful: dict[str, Stateful],
    samplers: dict[str, EpochSampler],
    *,
    steps: int,
    checkpoint_every: int,
    log_every: int,
    run_id: str,
    state_dir: str | Path,
    device: torch.device,
) -> list[dict]:
    """Run `step_fn` for optimizer steps 0 to `steps` - 1 with resumable state and return the log rows.

    Each step draws a batch of indices from every sampler and calls
    `step_fn(step, batches)`, which updates the models and returns the scalar
    values to log. Every `checkpoint_every` steps, the state of every object in
    `stateful` (models, optimizers, EMAs and so on), the samplers, the random
    number generators and the log rows are saved to `state_dir`. When
    `state_dir` contains state saved under the same `run_id`, the loop continues
    from it. The caller writes its outputs and then calls `remove_training_state`.
    """
    state_path = Path(state_dir) / STATE_FILE
    start_step = 0
    history: list[dict] = []
    state = load_training_state(state_path, run_id, device)
    if state is not None:
        for name, item in stateful.items():
            load_stateful(item, state["stateful"][name])
        for name, sampler in samplers.items():
            sampler.load_state_dict(state["samplers"][name])
        _restore_rng_state(state["rng"])
        start_step = int(state["step"])
        history = list(state["history"])
        logger.info("resuming training from saved step %d of %d (%s)", start_step, steps, state_path)
    else:
        logger.info("starting training from step 0 of %d", steps)

    def save_state(step: int) -> None:
        state = {
            "format": STATE_FORMAT,
            "fingerprint": run_id,
            "step": step,
            "stateful": {name: item.state_dict() for name, item in stateful.items()},
            "samplers": {name: sampler.state_dict() for name, sampler in samplers.items()},
            "rng": _rng_state(),
            "history": history,
        }
        save_torch(state, state_path)
        logger.info("saved training state at step %d to %s", step, state_path)

    started = time.monotonic()
    progress = tqdm(
        range(start_step, steps),
        initial=start_step,
        total=steps,
        desc="train",
        file=sys.stderr,
        mininterval=5.0,
    )
    for step in progress:
        batches = {name: sampler.next_batch().to(device) for name, sampler in samplers.items()}
        values = step_fn(step, batches)
        done = step + 1
        if done % log_every == 0 or done == steps:
            history.append({"step": done, **values})
            progress.set_postfix(loss=f"{values['loss']:.4f}")
        if done % checkpoint_every == 0 and done < steps:
            save_state(done)

    elapsed = time.monotonic() - started
    logger.info(
        "trained steps %d to %d in %.1f s (%.3f s per step)",
        start_step,
        steps,
        elapsed,
        elapsed / max(1, steps - start_step),
    )
    return history


def write_loss_log(history: list[dict], loss_csv: str | Path, leading: list[str]) -> pd.DataFrame:
    """Write the log rows to `loss_csv` with the `leading` columns first and return the table."""
    columns = list(leading)
    columns += [name for name in (history[0] if history else {}) if name not in columns]
    frame = pd.DataFrame(history, columns=columns)
    save_dataframe_csv(frame, loss_csv)
    return frame


def remove_training_state(state_dir: str | Path) -> None:
    """Delete the saved training state once the outputs that it leads to are written."""
    state_dir = Path(state_dir)
    if state_dir.exists():
        shutil.rmtree(state_dir)
        logger.info("removed training state in %s now that the outputs are written", state_dir)


# Devices on which torch.optim.Adam has a fused kernel.
FUSED_ADAM_DEVICES = ("cpu", "cuda")


def adam(parameters: Iterable[torch.Tensor], lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Return Adam over `parameters`, with the fused kernel on CPU and CUDA.

    The fused kernel updates each parameter in one pass. On a 2-core CPU it is about 15 times
    faster than the multi-tensor (foreach) kernel. Other devices get the foreach kernel, and
    so do parameters that are not floating point, because the fused kernel rejects them.
    """
    # A list, because deciding on the kernel reads the parameters once before Adam does.
    parameters = list(parameters)
    fused = all(
        p.device.type in FUSED_ADAM_DEVICES and torch.is_floating_point(p) for p in parameters
    )
    return torch.optim.Adam(parameters, lr=lr, betas=betas, fused=fused, foreach=None if fused else True)


def build_optimizer(models: dict[str, nn.Module], train_config: TrainConfig) -> torch.optim.Adam:
    """Return one Adam optimizer over all models' parameters."""
    parameters = [p for model in models.values() for p in model.parameters()]
    return adam(parameters, learning_rate(0, train_config), train_config.adam_betas)


def clip_gradient_norm(model: nn.Module, max_norm: float) -> None:
    """Scale the model's gradients in place so that their total norm is at most `max_norm`.

    Same result as `torch.nn.utils.clip_grad_norm_`. On the CPU the gradients are left
    untouched when no scaling is needed, which saves a pass over them. On other devices the
    scaling always runs, because deciding would wait for the device.
    """
    parameters = [p for p in model.parameters() if p.grad is not None]
    if not parameters:
        return
    grads = [p.grad for p in parameters]
    total_norm = torch.nn.utils.get_total_norm(grads, foreach=True)
    if total_norm.device.type == "cpu":
        norm = float(total_norm)
        # An infinite norm is scaled even when max_norm is infinite, because torch then
        # multiplies the gradients by inf / inf, which makes them all NaN.
        if math.isfinite(norm) and norm + 1e-6 <= max_norm:
            return
    torch.nn.utils.clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=True)


def update_weights(
    models: dict[str, nn.Module],
    emas: dict[str, ExponentialMovingAverage],
    optimizer: torch.optim.Optimizer,
    grad_clip: float,
    step: int,
) -> None:
    """Apply one optimizer step to gradients already computed: clip each model's gradient norm
    to `grad_clip`, step the optimizer, then update each model's EMA."""
    for model in models.values():
        clip_gradient_norm(model, grad_clip)
    optimizer.step()
    for name, ema in emas.items():
        ema.update(models[name], step)


def fit(
    models: dict[str, NoisePredictor],
    compute_losses: LossFn,
    samplers: dict[str, EpochSampler],
    train_config: TrainConfig,
    *,
    run_id: str,
    model_paths: dict[str, str | Path],
    loss_csv: str | Path,
    state_dir: str | Path,
    device: torch.device,
    domains: list[str],
) -> pd.DataFrame:
    """Optimize the models jointly and write their EMA weights and the loss log.

    `models` maps a name to each model: the directions "AtoB" and "BtoA" for
    the conditional models, or the domains "A" and "B" for the unconditional
    ones. Each step draws a batch of indices from every sampler in `samplers`
    and passes them to `compute_losses`, which returns named scalar losses:
    "loss" is minimized, "loss_<name>" is each model's share, and any other
    entries are logged too. When `state_dir` contains state saved under the
    same `run_id`, training continues from it. The folder is deleted once the
    outputs are written.
    """
    missing = set(models) - set(model_paths)
    if missing:
        raise ValueError(f"model_paths is missing the models {sorted(missing)}")
    emas = {
        name: ExponentialMovingAverage(model, train_config.ema_decay)
        for name, model in models.items()
    }
    optimizer = build_optimizer(models, train_config)

    def train_step(step: int, batches: dict[str, torch.Tensor]) -> dict[str, float]:
        lr = learning_rate(step, train_config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with autocast(train_config.precision, device):
            losses = compute_losses(batches)
        loss = losses["loss"]
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training loss became {loss.item()} at step {step}; lower the learning rate"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        update_weights(models, emas, optimizer, train_config.grad_clip, step)
        return {"lr": lr, **{name: value.item() for name, value in losses.items()}}

    for model in models.values():
        prepare_model(model, train_config.precision, device)
        model.train()
    stateful = {f"model_{name}": model for name, model in models.items()}
    stateful.update({f"ema_{name}": ema for name, ema in emas.items()})
    stateful["optimizer"] = optimizer
    history = run_resumable(
        train_step,
        stateful,
        samplers,
        steps=train_config.steps,
        checkpoint_every=train_config.checkpoint_every,
        log_every=train_config.log_every,
        run_id=run_id,
        state_dir=state_dir,
        device=device,
    )

    for name in models:
        save_score_model(
            model_paths[name],
            models[name],
            emas[name],
            name=name,
            domains=domains,
            train_config=train_config,
            step=train_config.steps,
        )
        logger.info("wrote EMA weights of the %s model to %s", name, model_paths[name])
    frame = write_loss_log(history, loss_csv, ["step", "loss", *(f"loss_{name}" for name in models), "lr"])
    remove_training_state(state_dir)
    return frame


def train_paired(
    train_data: dict,
    model_config: UNetConfig,
    train_config: TrainConfig,
    model_paths: dict[str, str | Path],
    loss_csv: str | Path,
    state_dir: str | Path,
    device: torch.device,
    data_fingerprint: str = "",
    sigma_data: float | None = 0.5,
) -> pd.DataFrame:
    """Train the A→B and B→A score models on paired images and write their EMA weights.

    The objective is the sum of both models' score-matching losses. `train_data`
    contains uint8 tensors `a` and `b` of shape [N, 3, H, W] and the domain names.
    `sigma_data` sets the preconditioning of `NoisePredictor` (None turns it off).
    See `fit` for resuming and outputs.
    """
    a_images = to_model_range(train_data["a"])
    b_images = to_model_range(train_data["b"])
    if a_images.shape != b_images.shape:
        raise ValueError(
            f"paired images differ in shape: a {tuple(a_images.shape)}, b {tuple(b_images.shape)}"
        )
    check_image_size(a_images, model_config, "prepared images")
    a_images, b_images = a_images.to(device), b_images.to(device)

    sde = VPSDE(train_config.beta_min, train_config.beta_max)
    models = build_models(model_config, sde, sigma_data, device, train_config.seed)
    score_fns = {direction: get_score_fn(sde, models[direction]) for direction in DIRECTIONS}

    def compute_losses(batches: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        a_batch, b_batch = a_images[batches["pairs"]], b_images[batches["pairs"]]
        # A→B learns the score of b given the condition a, and B→A the reverse.
        loss_a_to_b = score_matching_loss(score_fns["AtoB"], sde, b_batch, a_batch, train_config.eps)
        loss_b_to_a = score_matching_loss(score_fns["BtoA"], sde, a_batch, b_batch, train_config.eps)
        return {"loss": loss_a_to_b + loss_b_to_a, "loss_AtoB": loss_a_to_b, "loss_BtoA": loss_b_to_a}

    n_parameters = sum(p.numel() for p in models["AtoB"].parameters())
    logger.info(
        "training two models of %d parameters each on %d image pairs of %dx%d, batch size %d",
        n_parameters,
        a_images.shape[0],
        model_config.image_size,
        model_config.image_size,
        train_config.batch_size,
    )
    return fit(
        models,
        compute_losses,
        {"pairs": EpochSampler(a_images.shape[0], train_config.batch_size, train_config.seed)},
        train_config,
        run_id=fingerprint(
            "paired", asdict(train_config), model_config.to_dict(), sigma_data, data_fingerprint
        ),
        model_paths=model_paths,
        loss_csv=loss_csv,
        state_dir=state_dir,
        device=device,
        domains=list(train_data.get("domains", ["A", "B"])),
    )

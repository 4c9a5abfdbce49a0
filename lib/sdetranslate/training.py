"""Training of the two direction models, with resumable state.

`fit` runs the optimization shared by every task and method: Adam with a linear
warm-up, gradient clipping, an EMA of the weights, a loss log and resumable state.
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
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from sdetranslate.ema import ExponentialMovingAverage
from sdetranslate.io import load_torch, save_dataframe_csv, save_torch, to_model_range
from sdetranslate.losses import score_matching_loss
from sdetranslate.score import NoisePredictor, get_score_fn
from sdetranslate.sde import VPSDE
from sdetranslate.splits import DIRECTIONS
from sdetranslate.unet import ConditionalUNet, UNetConfig

logger = logging.getLogger(__name__)

STATE_FILE = "state.pt"


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

    def __post_init__(self):
        checks = {
            "steps": self.steps >= 1,
            "batch_size": self.batch_size >= 1,
            "lr": self.lr > 0,
            "warmup_steps": self.warmup_steps >= 0,
            "grad_clip": self.grad_clip > 0,
            "ema_decay": 0 <= self.ema_decay < 1,
            "checkpoint_every": self.checkpoint_every >= 1,
            "log_every": self.log_every >= 1,
            "eps": 0 < self.eps < 1,
        }
        for key, valid in checks.items():
            if not valid:
                raise ValueError(f"invalid training setting {key}={getattr(self, key)!r}")


def train_config_from_settings(training: dict, sde: dict) -> TrainConfig:
    """Build a TrainConfig from the `training` and `sde` sections of the workflow config."""
    return TrainConfig(**training, eps=sde["eps"], beta_min=sde["beta_min"], beta_max=sde["beta_max"])


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
    parameters = [p for model in models.values() for p in model.parameters()]
    optimizer = torch.optim.Adam(
        parameters, lr=learning_rate(0, train_config), betas=train_config.adam_betas, foreach=True
    )

    state_dir = Path(state_dir)
    state_path = state_dir / STATE_FILE
    start_step = 0
    history: list[dict] = []
    state = None
    if state_path.exists():
        try:
            state = load_torch(state_path, map_location=device)
        except ValueError as error:
            logger.warning("ignoring unreadable training state, training starts over: %s", error)
    if state is not None:
        if not isinstance(state, dict) or state.get("fingerprint") != run_id:
            logger.warning(
                "ignoring saved training state in %s: it was made with other settings or data",
                state_dir,
            )
        else:
            for name in models:
                models[name].load_state_dict(state["models"][name])
                emas[name].load_state_dict(state["emas"][name])
            optimizer.load_state_dict(state["optimizer"])
            for name, sampler in samplers.items():
                sampler.load_state_dict(state["samplers"][name])
            _restore_rng_state(state["rng"])
            start_step = int(state["step"])
            history = list(state["history"])
            logger.info(
                "resuming training from saved step %d of %d (%s)",
                start_step,
                train_config.steps,
                state_path,
            )
    if start_step == 0:
        logger.info("starting training from step 0 of %d", train_config.steps)

    def save_state(step: int) -> None:
        state = {
            "fingerprint": run_id,
            "step": step,
            "models": {d: m.state_dict() for d, m in models.items()},
            "emas": {d: e.state_dict() for d, e in emas.items()},
            "optimizer": optimizer.state_dict(),
            "samplers": {name: sampler.state_dict() for name, sampler in samplers.items()},
            "rng": _rng_state(),
            "history": history,
        }
        save_torch(state, state_path)
        logger.info("saved training state at step %d to %s", step, state_path)

    for model in models.values():
        model.train()
    started = time.monotonic()
    progress = tqdm(
        range(start_step, train_config.steps),
        initial=start_step,
        total=train_config.steps,
        desc="train",
        file=sys.stderr,
        mininterval=5.0,
    )
    for step in progress:
        lr = learning_rate(step, train_config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batches = {name: sampler.next_batch().to(device) for name, sampler in samplers.items()}
        losses = compute_losses(batches)
        loss = losses["loss"]
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training loss became {loss.item()} at step {step}; lower the learning rate"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for model in models.values():
            torch.nn.utils.clip_grad_norm_(model.parameters(), train_config.grad_clip)
        optimizer.step()
        for name in models:
            emas[name].update(models[name], step)

        done = step + 1
        if done % train_config.log_every == 0 or done == train_config.steps:
            row = {"step": done, "lr": lr}
            row.update({name: value.item() for name, value in losses.items()})
            history.append(row)
            progress.set_postfix(loss=f"{loss.item():.4f}")
        if done % train_config.checkpoint_every == 0 and done < train_config.steps:
            save_state(done)

    elapsed = time.monotonic() - started
    logger.info(
        "trained steps %d to %d in %.1f s (%.3f s per step)",
        start_step,
        train_config.steps,
        elapsed,
        elapsed / max(1, train_config.steps - start_step),
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
    columns = ["step", "loss", *(f"loss_{name}" for name in models), "lr"]
    columns += [name for name in (history[0] if history else {}) if name not in columns]
    frame = pd.DataFrame(history, columns=columns)
    save_dataframe_csv(frame, loss_csv)
    if state_dir.exists():
        shutil.rmtree(state_dir)
        logger.info("removed training state in %s now that the outputs are written", state_dir)
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

"""Translation of a prepared split with a trained score model."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from tqdm import tqdm

from sdetranslate.io import save_torch, to_model_range, to_uint8
from sdetranslate.precision import autocast, prepare_model
from sdetranslate.sampling import NoiseSource, get_sampler
from sdetranslate.score import get_score_fn
from sdetranslate.sde import VPSDE
from sdetranslate.splits import direction_view
from sdetranslate.training import load_score_model

logger = logging.getLogger(__name__)


def image_seed(seed: int, index: int) -> int:
    """Return the noise seed of image `index`, independent of batching."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def translate_images(
    model_path: str | Path,
    cond_images: torch.Tensor,
    names: list[str],
    *,
    experiment: str,
    direction: str,
    sampler: str,
    n_steps: int,
    seed: int,
    batch_size: int,
    device: torch.device,
    out_path: str | Path,
    sampler_settings: Mapping[str, Any] | None = None,
    precision: str = "fp32",
) -> dict:
    """Translate uint8 condition images [N, 3, H, W] with a trained model and write the results as uint8.

    `n_steps` is the sampler's NFE budget and `sampler_settings` its keyword
    settings, such as pc's `snr`. Image i is translated with noise seeded by
    (seed, i), so the result does not depend on `batch_size`. Sampling runs under
    `torch.inference_mode` with the EMA weights stored in the model file, at
    `precision` (see `sdetranslate.precision`). The output file records `names`
    as the image ids and the NFE spent per image.
    """
    sampler_spec = get_sampler(sampler)
    settings = dict(sampler_settings or {})
    sampler_spec.check_settings(settings)
    nfe = sampler_spec.nfe(n_steps, **settings)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    model, meta = load_score_model(model_path, device)
    if meta["direction"] != direction:
        raise ValueError(f"{model_path} contains the {meta['direction']} model, not {direction}")
    logger.info(
        "sampling with the %s weights of %s (trained for %d steps)",
        meta["weights"],
        model_path,
        meta["step"],
    )
    sde = VPSDE(meta["sde"]["beta_min"], meta["sde"]["beta_max"])
    eps = float(meta["eps"])
    prepare_model(model, precision, device)
    score_fn = get_score_fn(sde, model)

    outputs = []
    started = time.monotonic()
    count = len(names)
    batches = range(0, count, batch_size)
    progress = tqdm(
        batches, desc=f"{sampler} NFE={nfe} {direction}", file=sys.stderr, mininterval=5.0
    )
    for start in progress:
        stop = min(start + batch_size, count)
        cond = to_model_range(cond_images[start:stop]).to(device)
        noise = NoiseSource([image_seed(seed, index) for index in range(start, stop)])
        with torch.inference_mode(), autocast(precision, device):
            result = sampler_spec.fn(score_fn, sde, cond, n_steps, eps, noise, **settings)
        outputs.append(to_uint8(result))
    elapsed = time.monotonic() - started
    logger.info(
        "translated %d images %s with %s%s at NFE budget %d in %.1f s "
        "(%d network evaluations per image)",
        count,
        direction,
        sampler,
        f" {settings}" if settings else "",
        n_steps,
        elapsed,
        nfe,
    )
    payload = {
        "images": torch.cat(outputs),
        "image_ids": list(names),
        "experiment": experiment,
        "direction": direction,
        "sampler": sampler,
        "n_steps": int(n_steps),
        "nfe": int(nfe),
        "sampler_settings": settings,
        "seed": int(seed),
        "seconds": float(elapsed),
        "precision": precision,
    }
    save_torch(payload, out_path)
    return payload


def translate_split(model_path: str | Path, data: dict, *, direction: str, **settings) -> dict:
    """Translate the condition images of a prepared split (see `sdetranslate.splits`).

    `settings` are the keyword arguments of `translate_images`.
    """
    view = direction_view(data, direction)
    return translate_images(model_path, view.condition, view.names, direction=direction, **settings)


def reconstruct(model_path: str | Path, samples: dict, *, direction: str, **settings) -> dict:
    """Translate the translations in a sample file back with the model of the opposite direction.

    `direction` is the direction of the model at `model_path`, the opposite of
    the samples' own. `settings` are the keyword arguments of `translate_images`.
    """
    if samples["direction"] == direction:
        raise ValueError(
            f"reconstruction needs the model opposite to the samples' direction {samples['direction']}"
        )
    return translate_images(
        model_path, samples["images"], list(samples["image_ids"]), direction=direction, **settings
    )

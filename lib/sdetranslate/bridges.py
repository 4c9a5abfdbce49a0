"""Unpaired translation through the shared Gaussian latent space of two per-domain models.

Both methods use the unconditional score models of `sdetranslate.domain_models`,
one per domain, and the fact that the forward SDE takes either domain to the
same N(0, I) prior.

- Dual diffusion implicit bridges (DDIB, Su et al., 2023): the source domain's
  probability-flow ODE, integrated from t = eps to 1, encodes the source image
  into a latent. The target domain's probability-flow ODE, integrated from 1 to
  eps, decodes that latent into the target domain. Both legs are deterministic,
  so with two identical models the translation returns its input up to the
  solver's error.
- SDEdit (Meng et al., 2022): the forward SDE perturbs the source image to time
  t0, x_t0 = α_t0 x + σ_t0 z, and the target domain's reverse-time SDE, solved
  with Euler–Maruyama from t0 down to eps, turns it into a target-domain image.
  A small t0 keeps more of the input and a large t0 more of the target domain's
  look; at t0 = 1 the input is almost entirely replaced by noise.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from sdetranslate.domain_models import load_domain_model, no_condition
from sdetranslate.io import save_torch, to_model_range, to_uint8
from sdetranslate.precision import autocast, prepare_model
from sdetranslate.sampling import NoiseSource, integrate_reverse_sde, probability_flow_ode
from sdetranslate.score import ScoreFn, get_score_fn
from sdetranslate.sde import VPSDE, _broadcast
from sdetranslate.splits import direction_view
from sdetranslate.translate import image_seed

logger = logging.getLogger(__name__)

def sdedit_sampler_name(t0: float) -> str:
    """Return the sampler name of an SDEdit run at t0, such as "sdedit_t050" for t0 = 0.5.

    The name is used in file paths and in the `sampler` column of the score
    tables, so t0 must be a multiple of 0.01.
    """
    hundredths = round(t0 * 100)
    if not 0 < t0 <= 1 or abs(hundredths - t0 * 100) > 1e-6:
        raise ValueError(f"SDEdit t0 must be a multiple of 0.01 in (0, 1], got {t0}")
    return f"sdedit_t{hundredths:03d}"


def sdedit(
    score_fn: ScoreFn,
    sde: VPSDE,
    x: torch.Tensor,
    t0: float,
    n_steps: int,
    eps: float,
    noise: NoiseSource,
) -> torch.Tensor:
    """Perturb x to time t0 with the forward SDE, then solve the reverse-time SDE back to eps.

    `score_fn` is the target domain's unconditional score, called with an empty
    condition. The reverse-time SDE is integrated with Euler–Maruyama on n_steps
    equal steps from t0 to eps, so n_steps is the number of network evaluations.
    The last step lands on eps without adding noise. `noise` draws the
    perturbation first and then the noise of each step.
    """
    if n_steps < 1:
        raise ValueError(f"n_steps must be at least 1, got {n_steps}")
    if not eps < t0 <= sde.T:
        raise ValueError(f"t0 must lie in (eps={eps}, T={sde.T}], got {t0}")
    image_shape = tuple(x.shape[1:])
    mean, std = sde.marginal_prob(x, torch.full((x.shape[0],), float(t0), device=x.device))
    x = mean + _broadcast(std, x) * noise.randn(image_shape, device=x.device)

    timesteps = torch.linspace(t0, eps, n_steps + 1)
    timesteps[-1] = eps
    return integrate_reverse_sde(score_fn, sde, x, no_condition(x), timesteps, noise)


def bridge_steps(nfe: int) -> int:
    """Return the Heun steps of one ODE leg that an NFE budget buys: 2 NFE per step.

    An odd budget leaves one evaluation unspent.
    """
    if nfe < 2:
        raise ValueError(f"a bridge leg needs an NFE budget of at least 2 (one Heun step), got {nfe}")
    return nfe // 2


def bridge(
    source_score_fn: ScoreFn,
    target_score_fn: ScoreFn,
    sde: VPSDE,
    x: torch.Tensor,
    encode_nfe: int,
    decode_nfe: int,
    eps: float,
) -> torch.Tensor:
    """Translate x by encoding it with the source probability-flow ODE and decoding with the target's.

    Both score functions are unconditional and called with an empty condition.
    The encoding runs from t = eps to T and the decoding from T back to eps,
    each with Heun's method (`sdetranslate.sampling.probability_flow_ode` on its
    default time grid) and `bridge_steps` of its NFE budget.
    """
    cond = no_condition(x)
    latent = probability_flow_ode(
        source_score_fn, sde, x, cond, eps, sde.T, bridge_steps(encode_nfe)
    )
    return probability_flow_ode(
        target_score_fn, sde, latent, cond, sde.T, eps, bridge_steps(decode_nfe)
    )


def bridge_nfe(encode_nfe: int, decode_nfe: int) -> int:
    """Return the network evaluations that one bridge translation spends."""
    return 2 * (bridge_steps(encode_nfe) + bridge_steps(decode_nfe))


def _domains_of(direction: str) -> tuple[str, str]:
    return ("A", "B") if direction == "AtoB" else ("B", "A")


def _log_model(path, meta) -> None:
    logger.info(
        "using the %s weights of the domain %s model %s (trained for %d steps)",
        meta["weights"],
        meta["domain"],
        path,
        meta["step"],
    )


def _translate_batches(
    translate_batch, images: torch.Tensor, batch_size: int, description: str, precision: str, device: torch.device
):
    """Apply `translate_batch(x, start, stop)` to batches of uint8 images at `precision` and return uint8."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    outputs = []
    for start in tqdm(
        range(0, images.shape[0], batch_size), desc=description, file=sys.stderr, mininterval=5.0
    ):
        stop = min(start + batch_size, images.shape[0])
        with torch.inference_mode(), autocast(precision, device):
            outputs.append(to_uint8(translate_batch(images[start:stop], start, stop)))
    return torch.cat(outputs)


def translate_split_sdedit(
    model_paths: dict[str, str | Path],
    data: dict,
    *,
    experiment: str,
    direction: str,
    t0: float,
    n_steps: int,
    seed: int,
    batch_size: int,
    device: torch.device,
    out_path: str | Path,
    precision: str = "fp32",
) -> dict:
    """Translate the source images of a prepared split with SDEdit and write a sample file.

    `model_paths` maps "A" and "B" to the domain models, of which the target
    domain's is used. Image i gets noise seeded by (seed, i), so results do not
    depend on `batch_size`. The sample file records the sampler name of
    `sdedit_sampler_name(t0)`, n_steps and t0.
    """
    sampler = sdedit_sampler_name(t0)
    view = direction_view(data, direction)
    _, target = _domains_of(direction)
    model, meta = load_domain_model(model_paths[target], target, device)
    prepare_model(model, precision, device)
    _log_model(model_paths[target], meta)
    sde = VPSDE(meta["sde"]["beta_min"], meta["sde"]["beta_max"])
    eps = float(meta["eps"])
    score_fn = get_score_fn(sde, model)

    def translate_batch(images: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        noise = NoiseSource([image_seed(seed, index) for index in range(start, stop)])
        return sdedit(score_fn, sde, to_model_range(images).to(device), t0, n_steps, eps, noise)

    started = time.monotonic()
    images = _translate_batches(
        translate_batch,
        view.condition,
        batch_size,
        f"SDEdit t0={t0} N={n_steps} {direction}",
        precision,
        device,
    )
    elapsed = time.monotonic() - started
    logger.info(
        "translated %d images %s with SDEdit from t0=%g in %d Euler-Maruyama steps in %.1f s",
        images.shape[0],
        direction,
        t0,
        n_steps,
        elapsed,
    )
    payload = {
        "images": images,
        "image_ids": list(view.names),
        "experiment": experiment,
        "method": "sdedit",
        "direction": direction,
        "sampler": sampler,
        "n_steps": int(n_steps),
        "t0": float(t0),
        "seed": int(seed),
        "seconds": float(elapsed),
        "precision": precision,
    }
    save_torch(payload, out_path)
    return payload


def translate_split_bridge(
    model_paths: dict[str, str | Path],
    data: dict,
    *,
    experiment: str,
    direction: str,
    encode_nfe: int,
    decode_nfe: int,
    batch_size: int,
    device: torch.device,
    out_path: str | Path,
    precision: str = "fp32",
) -> dict:
    """Translate the source images of a prepared split with the bridge, and back, and write a sample file.

    `model_paths` maps "A" and "B" to the domain models. The translations are
    also translated back to the source domain with the same solver settings,
    and the sample file stores those as "round_trip" beside "images", so that
    the cycle error can be scored. n_steps in the sample file is the number of
    network evaluations of one translation (`bridge_nfe`).
    """
    view = direction_view(data, direction)
    source, target = _domains_of(direction)
    models = {}
    for domain in (source, target):
        model, meta = load_domain_model(model_paths[domain], domain, device)
        prepare_model(model, precision, device)
        _log_model(model_paths[domain], meta)
        models[domain] = model
    sde = VPSDE(meta["sde"]["beta_min"], meta["sde"]["beta_max"])
    eps = float(meta["eps"])
    score_fns = {domain: get_score_fn(sde, model) for domain, model in models.items()}

    def forward(images: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        x = to_model_range(images).to(device)
        return bridge(score_fns[source], score_fns[target], sde, x, encode_nfe, decode_nfe, eps)

    def backward(images: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        x = to_model_range(images).to(device)
        return bridge(score_fns[target], score_fns[source], sde, x, encode_nfe, decode_nfe, eps)

    nfe = bridge_nfe(encode_nfe, decode_nfe)
    started = time.monotonic()
    images = _translate_batches(
        forward, view.condition, batch_size, f"bridge {direction}", precision, device
    )
    elapsed = time.monotonic() - started
    round_trip = _translate_batches(
        backward, images, batch_size, f"bridge back {direction}", precision, device
    )
    logger.info(
        "translated %d images %s with the bridge (%d encoding and %d decoding Heun steps, "
        "%d network evaluations per image) in %.1f s, and back in %.1f s",
        images.shape[0],
        direction,
        bridge_steps(encode_nfe),
        bridge_steps(decode_nfe),
        nfe,
        elapsed,
        time.monotonic() - started - elapsed,
    )
    payload = {
        "images": images,
        "round_trip": round_trip,
        "image_ids": list(view.names),
        "experiment": experiment,
        "method": "bridge",
        "direction": direction,
        "sampler": "bridge",
        "n_steps": int(nfe),
        "encode_nfe": int(encode_nfe),
        "decode_nfe": int(decode_nfe),
        "seconds": float(elapsed),
        "precision": precision,
    }
    save_torch(payload, out_path)
    return payload

"""Counterpart SSIM that oracle translations reach on the synthetic horse/zebra data.

An oracle translation is rendered from the test scene itself: background, animal shapes, pose and
shading. It lacks only what the source image cannot show. A horse shows nothing of the
stripe period, phase and warp of its zebra counterpart, and a zebra shows nothing of its
horse counterpart's coat colour, so the oracles draw these afresh. Their SSIM against the
counterpart shows what an unpaired method that gets everything else right can reach, and
comparing it with the identity baseline shows whether beating that baseline is possible.

The scenes are those of `generate_synthetic_horse2zebra` with the same seed, rendered,
JPEG-encoded and resized as the pipeline prepares them.
"""

from __future__ import annotations

import io
import math
from dataclasses import replace

import numpy as np
import pandas as pd
from PIL import Image

from sdetranslate.data.prepare_unpaired import resize_square
from sdetranslate.data.synthetic import _smooth_noise
from sdetranslate.data.synthetic_unpaired import (
    COAT_PALETTE,
    FOLDER_STREAMS,
    STRIPE_PERIOD_RANGE,
    Scene,
    _encode_jpeg,
    generate_scene,
    render_scene,
)
from sdetranslate.metrics import SSIM_WINDOW, ssim

# Mid-grey coat: the mean colour of black and white stripes.
GREY_COAT = np.array([130, 128, 124], dtype=np.float32)

# Seed of the oracles' own random draws, kept apart from the dataset's streams.
ORACLE_SEED = 7919

# Smallest scene side that `generate_synthetic_horse2zebra` accepts.
MIN_TILE_SIZE = 16


def _restriped(scene: Scene, rng: np.random.Generator) -> Scene:
    """Return `scene` with a new stripe period, phase and warp for every animal."""
    animals = [
        replace(
            animal,
            stripe_period=scene.size * rng.uniform(*STRIPE_PERIOD_RANGE),
            stripe_phase=rng.uniform(0.0, 2.0 * math.pi),
        )
        for animal in scene.animals
    ]
    warp = _smooth_noise(rng, scene.size, 4) * rng.uniform(0.4, 1.0)
    return replace(scene, animals=animals, stripe_warp=warp)


def _recoloured(scene: Scene, rng: np.random.Generator) -> Scene:
    """Return `scene` with a coat colour drawn afresh from the palette for every animal."""
    animals = [
        replace(animal, coat=COAT_PALETTE[rng.integers(0, len(COAT_PALETTE))].copy())
        for animal in scene.animals
    ]
    return replace(scene, animals=animals)


def _grey_coated(scene: Scene) -> Scene:
    return replace(scene, animals=[replace(animal, coat=GREY_COAT.copy()) for animal in scene.animals])


def _prepared(image: np.ndarray, image_size: int, jpeg_quality: int) -> np.ndarray:
    """Return a rendered image as the pipeline stores and prepares it: JPEG, then resized."""
    decoded = Image.open(io.BytesIO(_encode_jpeg(image, jpeg_quality))).convert("RGB")
    return resize_square(decoded, image_size)


def check_oracle_arguments(
    n_scenes: int, seed: int, tile_size: int, image_size: int, jpeg_quality: int
) -> None:
    """Raise a ValueError naming the first argument of `oracle_counterpart_ssim` that is invalid."""
    for name, value, least in (
        ("n_scenes", n_scenes, 1),
        ("seed", seed, 0),
        ("tile_size", tile_size, MIN_TILE_SIZE),
        ("image_size", image_size, SSIM_WINDOW),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an integer of at least {least}, got {value!r}")
    # The pipeline prepares images by downscaling the scenes. A larger image_size would only
    # upsample them, and the memory it takes grows with its square.
    if image_size > tile_size:
        raise ValueError(
            f"image_size {image_size} is larger than tile_size {tile_size}; "
            "use an image_size of at most tile_size"
        )
    if isinstance(jpeg_quality, bool) or not isinstance(jpeg_quality, int) or not 1 <= jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality must be an integer in 1..100, got {jpeg_quality!r}")


def oracle_counterpart_ssim(
    n_scenes: int, seed: int, tile_size: int, image_size: int, jpeg_quality: int = 95
) -> pd.DataFrame:
    """Compute the mean counterpart SSIM of the identity baseline and of each oracle.

    Test scenes 1..n_scenes of both test folders are drawn as `generate_synthetic_horse2zebra`
    draws them with `seed` and `tile_size`. The rows have the columns direction, translation
    and ssim. AtoB has the identity, the exact zebra with stripes drawn afresh ("restriped")
    and the exact animal in a plain mid-grey coat ("grey_coat"). BtoA has the identity and
    the exact horse in a coat colour drawn afresh ("recoloured").
    """
    check_oracle_arguments(n_scenes, seed, tile_size, image_size, jpeg_quality)
    scores: dict[tuple[str, str], list[float]] = {}

    def add(direction: str, translation: str, image: np.ndarray, target: np.ndarray) -> None:
        prepared = _prepared(image, image_size, jpeg_quality)
        scores.setdefault((direction, translation), []).append(ssim(prepared, target))

    for k in range(1, n_scenes + 1):
        for folder, direction in (("testA", "AtoB"), ("testB", "BtoA")):
            scene = generate_scene(np.random.default_rng([seed, FOLDER_STREAMS[folder], k]), tile_size)
            oracle_rng = np.random.default_rng([ORACLE_SEED, FOLDER_STREAMS[folder], k])
            striped_source = direction == "BtoA"
            source = render_scene(scene, striped_source)
            target = _prepared(render_scene(scene, not striped_source), image_size, jpeg_quality)
            add(direction, "identity", source, target)
            if direction == "AtoB":
                add(direction, "restriped", render_scene(_restriped(scene, oracle_rng), True), target)
                add(direction, "grey_coat", render_scene(_grey_coated(scene), False), target)
            else:
                add(direction, "recoloured", render_scene(_recoloured(scene, oracle_rng), False), target)
    return pd.DataFrame(
        [
            {"direction": direction, "translation": translation, "ssim": float(np.mean(values))}
            for (direction, translation), values in scores.items()
        ]
    )

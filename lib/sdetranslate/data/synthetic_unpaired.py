"""Synthetic unpaired horse/zebra images in the on-disk layout of CycleGAN's "horse2zebra" archive.

Each image is a pasture scene: sky above a level horizon, grass below, and one or two
four-legged animals built from ellipses and capsules (body, rump, chest, neck, head, ear, legs,
tail) in a random pose. Domain A paints the animals in smooth, shaded coat colours (chestnut,
bay, dark brown, black, light grey, dun). Domain B paints the same shapes with black and white
stripes that run across each body part, so they are vertical on the body and horizontal on the
legs, like a zebra's.

Train images of A and B are different scenes. Every test scene is also rendered in the other
style under `groundtruth/`, which gives a ground truth for unpaired translation that training
never reads.
"""

from __future__ import annotations

import io
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from sdetranslate.data.synthetic import _smooth_noise
from sdetranslate.io import atomic_directory

logger = logging.getLogger(__name__)

# Random streams: scene k of folder F uses np.random.default_rng([seed, FOLDER_STREAMS[F], k]).
FOLDER_STREAMS = {"trainA": 0, "trainB": 1, "testA": 2, "testB": 3}

# Coat base colours (RGB) of domain A: chestnut, bay, dark brown, black, light grey, dun.
# Each is at least 60 RGB units (Euclidean) from the sky and grass colour ranges below.
COAT_PALETTE = np.array(
    [
        [165, 82, 40],
        [122, 62, 34],
        [70, 44, 32],
        [52, 46, 44],
        [216, 206, 190],
        [205, 150, 100],
    ],
    dtype=np.float32,
)
STRIPE_BLACK = np.array([24, 22, 20], dtype=np.float32)
STRIPE_WHITE = np.array([236, 234, 228], dtype=np.float32)

# Stripe period as a fraction of the image side: 20-26 px at 256 px, 5.1-6.4 px at 64 px and
# 2.6-3.2 px at 32 px, so the stripes stay above the 2 px Nyquist limit after downscaling to 32.
STRIPE_PERIOD_RANGE = (0.08, 0.10)

# Animals keep this fraction of the image side free at the left and right edges, where
# `object_mask` in sdetranslate.unpaired_metrics samples the background colour.
SIDE_MARGIN = 0.08


@dataclass
class Ellipse:
    """A rotated ellipse: centre (cx, cy), semi-axes a along `angle` and b across it, in pixels."""

    cx: float
    cy: float
    a: float
    b: float
    angle: float  # radians, in image coordinates (y points down)

    def signed_distance(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Return an approximate signed distance in pixels, negative inside.

        The implicit function q - 1 is divided by the length of its gradient, which is exact
        on the outline and close to it nearby. Inside, the value is clamped at -b.
        """
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        dx, dy = xs - self.cx, ys - self.cy
        u = (cos * dx + sin * dy) / self.a
        v = (-sin * dx + cos * dy) / self.b
        q = np.sqrt(u * u + v * v)
        gradient = np.sqrt((u / self.a) ** 2 + (v / self.b) ** 2)
        distance = (q - 1.0) * q / np.maximum(gradient, 1e-6)
        return np.maximum(distance, -self.b)

    def bounds(self) -> tuple[float, float, float, float]:
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        half_x = math.hypot(self.a * cos, self.b * sin)
        half_y = math.hypot(self.a * sin, self.b * cos)
        return self.cx - half_x, self.cy - half_y, self.cx + half_x, self.cy + half_y

    @property
    def thickness(self) -> float:
        return self.b


@dataclass
class Capsule:
    """A segment from (x0, y0) to (x1, y1) thickened by `radius` pixels, with round ends."""

    x0: float
    y0: float
    x1: float
    y1: float
    radius: float

    def signed_distance(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Return the exact signed distance in pixels, negative inside."""
        sx, sy = self.x1 - self.x0, self.y1 - self.y0
        length_squared = max(sx * sx + sy * sy, 1e-12)
        t = np.clip(((xs - self.x0) * sx + (ys - self.y0) * sy) / length_squared, 0.0, 1.0)
        return np.hypot(xs - self.x0 - t * sx, ys - self.y0 - t * sy) - self.radius

    def bounds(self) -> tuple[float, float, float, float]:
        r = self.radius
        return (
            min(self.x0, self.x1) - r,
            min(self.y0, self.y1) - r,
            max(self.x0, self.x1) + r,
            max(self.y0, self.y1) + r,
        )

    @property
    def thickness(self) -> float:
        return self.radius


@dataclass
class Part:
    """One body part and the frame its stripes follow.

    Stripes are level lines of the coordinate along `stripe_angle` measured from
    `stripe_origin`, so they run across the part's long axis.
    """

    shape: Ellipse | Capsule
    stripe_origin: tuple[float, float]
    stripe_angle: float
    tone: float  # coat brightness factor in domain A: 1 for the coat, below 1 for the tail


@dataclass
class Animal:
    """One animal in image pixels: its parts, coat colour, stripe period and body centre."""

    parts: list[Part]
    coat: np.ndarray  # float32 [3], RGB of the domain A coat
    stripe_period: float  # pixels
    stripe_phase: float  # radians
    body_centre: tuple[float, float]
    length: float  # body length in pixels
    feet_y: float  # lowest point of the hooves, in pixels


@dataclass
class Scene:
    """One pasture scene at `size` x `size` pixels that renders in either domain's style."""

    size: int
    background: np.ndarray  # float32 [S, S, 3], sky, grass and animal shadows
    animals: list[Animal]  # back to front
    coat_texture: np.ndarray  # float32 [S, S], zero-mean smooth noise
    stripe_warp: np.ndarray  # float32 [S, S], radians added to the stripe phase
    grain: np.ndarray  # float32 [S, S, 3], per-pixel sensor noise


def _direction(angle_degrees: float) -> tuple[float, float]:
    """Return the unit vector at `angle_degrees` above the +x axis, in image coordinates."""
    radians = math.radians(angle_degrees)
    return math.cos(radians), -math.sin(radians)


def _animal_outline(rng: np.random.Generator) -> list[tuple[str, tuple, str]]:
    """Return the parts of an animal facing +x, in body lengths about the body centre.

    Each entry is (kind, parameters, group). Kind "ellipse" has (cx, cy, a, b, angle) and kind
    "capsule" has (x0, y0, x1, y1, radius). Parts of group "body" share the body's stripe frame,
    and every other part uses its own long axis.
    """
    parts: list[tuple[str, tuple, str]] = []
    tilt = rng.uniform(-0.05, 0.05)
    body_height = rng.uniform(0.16, 0.2)
    parts.append(("ellipse", (0.0, 0.0, 0.5, body_height, tilt), "body"))
    parts.append(("ellipse", (-0.3, -0.01, 0.2, body_height + 0.01, tilt), "body"))
    parts.append(("ellipse", (0.3, 0.02, 0.18, body_height, tilt), "body"))

    grazing = rng.random() < 0.25
    neck_angle = rng.uniform(-60, -35) if grazing else rng.uniform(40, 70)
    neck_length = rng.uniform(0.38, 0.48)
    neck_start = (0.36, -0.06)
    ux, uy = _direction(neck_angle)
    neck_end = (neck_start[0] + neck_length * ux, neck_start[1] + neck_length * uy)
    parts.append(("capsule", (*neck_start, *neck_end, 0.09), "neck"))

    head_angle = rng.uniform(-105, -75) if grazing else neck_angle - rng.uniform(95, 125)
    hx, hy = _direction(head_angle)
    head_centre = (neck_end[0] + 0.12 * hx, neck_end[1] + 0.12 * hy)
    parts.append(("ellipse", (*head_centre, 0.16, 0.07, math.atan2(hy, hx)), "head"))
    ex, ey = _direction(neck_angle + rng.uniform(40, 70))
    ear_tip = (neck_end[0] + 0.12 * ex, neck_end[1] + 0.12 * ey)
    parts.append(("capsule", (*neck_end, *ear_tip, 0.03), "ear"))

    leg_length = rng.uniform(0.48, 0.56)
    for hip_x in (0.34, 0.26, -0.3, -0.38):
        swing = rng.uniform(-20, 20)
        lx, ly = _direction(-90 + swing)
        hip = (hip_x, 0.08)
        foot = (hip[0] + leg_length * lx, hip[1] + leg_length * ly)
        parts.append(("capsule", (*hip, *foot, 0.05), "leg"))

    tail_angle = rng.uniform(-120, -95)
    tx, ty = _direction(tail_angle)
    tail_root = (-0.48, -0.08)
    tail_length = rng.uniform(0.32, 0.42)
    tail_tip = (tail_root[0] - tail_length * abs(tx), tail_root[1] + tail_length * ty)
    parts.append(("capsule", (*tail_root, *tail_tip, 0.04), "tail"))
    return parts


def _make_shape(
    kind: str, params: tuple, length: float, facing: int, offset: tuple[float, float]
) -> Ellipse | Capsule:
    """Scale one outline entry to `length` pixels, mirror it when `facing` is -1, and move it.

    `offset` is the body centre in pixels.
    """
    if kind == "ellipse":
        cx, cy, a, b, rotation = params
        angle = rotation if facing > 0 else math.pi - rotation
        return Ellipse(
            offset[0] + facing * cx * length, offset[1] + cy * length, a * length, b * length, angle
        )
    x0, y0, x1, y1, radius = params
    return Capsule(
        offset[0] + facing * x0 * length,
        offset[1] + y0 * length,
        offset[0] + facing * x1 * length,
        offset[1] + y1 * length,
        radius * length,
    )


def _place_animal(
    outline: list[tuple[str, tuple, str]],
    length: float,
    facing: int,
    offset: tuple[float, float],
) -> list[Part]:
    """Turn an outline from `_animal_outline` into parts in pixels, with their stripe frames.

    `facing` is +1 to face right and -1 to face left. `offset` is the body centre in pixels.
    """
    body = _make_shape(*outline[0][:2], length, facing, offset)
    placed = []
    for kind, params, group in outline:
        shape = _make_shape(kind, params, length, facing, offset)
        if group == "body":
            stripe_origin, stripe_angle = offset, body.angle
        elif isinstance(shape, Ellipse):
            stripe_origin, stripe_angle = (shape.cx, shape.cy), shape.angle
        else:
            stripe_origin = (shape.x0, shape.y0)
            stripe_angle = math.atan2(shape.y1 - shape.y0, shape.x1 - shape.x0)
        tone = 0.55 if group == "tail" else 1.0
        placed.append(Part(shape, stripe_origin, stripe_angle, tone))
    return placed


def _outline_bounds(outline: list[tuple[str, tuple, str]]) -> tuple[float, float, float, float]:
    """Return (x0, y0, x1, y1) of an outline facing +x, in body lengths about the body centre."""
    boxes = [_make_shape(kind, params, 1.0, 1, (0.0, 0.0)).bounds() for kind, params, _ in outline]
    return (
        min(box[0] for box in boxes),
        min(box[1] for box in boxes),
        max(box[2] for box in boxes),
        max(box[3] for box in boxes),
    )


def _random_animal(
    rng: np.random.Generator, size: int, horizon: float, length_range: tuple[float, float]
) -> Animal:
    """Return an animal standing on the grass and inside the side margins."""
    outline = _animal_outline(rng)
    facing = 1 if rng.random() < 0.5 else -1
    x0, y0, x1, y1 = _outline_bounds(outline)
    width_limit = size * (1.0 - 2.0 * SIDE_MARGIN) - 2.0
    height_limit = size * 0.94 - 2.0
    length = size * rng.uniform(*length_range)
    length = min(length, width_limit / (x1 - x0), height_limit / (y1 - y0))

    # Left and right extents in pixels relative to the body centre, after mirroring.
    left = length * (x0 if facing > 0 else -x1)
    right = length * (x1 if facing > 0 else -x0)
    centre_x = rng.uniform(
        size * SIDE_MARGIN + 1.0 - left, size * (1.0 - SIDE_MARGIN) - 1.0 - right
    )
    # The hooves stand below the horizon, and the head stays inside the top 3% of the image.
    feet_y_max = size * 0.97
    feet_y_min = min(max(horizon + 0.12 * size, size * 0.03 + length * (y1 - y0)), feet_y_max)
    feet_y = rng.uniform(feet_y_min, feet_y_max)
    centre_y = feet_y - length * y1

    coat = COAT_PALETTE[rng.integers(0, len(COAT_PALETTE))] * rng.uniform(0.92, 1.08, size=3)
    return Animal(
        parts=_place_animal(outline, length, facing, (centre_x, centre_y)),
        coat=coat.astype(np.float32),
        stripe_period=size * rng.uniform(*STRIPE_PERIOD_RANGE),
        stripe_phase=rng.uniform(0.0, 2.0 * math.pi),
        body_centre=(centre_x, centre_y),
        length=length,
        feet_y=feet_y,
    )


def _paint_background(rng: np.random.Generator, size: int) -> tuple[np.ndarray, float]:
    """Return a float32 [S, S, 3] sky-and-grass image and the horizon height in pixels.

    The horizon is level and the colours vary only with the row, apart from a few RGB units
    of texture, so the left and right image edges show the background colour of every row.
    """
    ys = np.arange(size, dtype=np.float32)[:, None] + 0.5
    horizon = size * rng.uniform(0.28, 0.45)

    sky_top = rng.uniform([60, 120, 200], [110, 160, 245])
    sky_low = rng.uniform([135, 180, 230], [170, 205, 250])
    depth = np.clip(ys / horizon, 0.0, 1.0)[..., None]
    sky = sky_top + (sky_low - sky_top) * depth
    sky = sky + 3.0 * _smooth_noise(rng, size, 3)[..., None]

    grass_far = rng.uniform([105, 150, 65], [140, 178, 95])
    grass_near = rng.uniform([48, 108, 28], [78, 145, 52])
    nearness = np.clip((ys - horizon) / (size - horizon), 0.0, 1.0)[..., None]
    grass = grass_far + (grass_near - grass_far) * nearness
    texture = 5.0 * _smooth_noise(rng, size, 6) + 3.0 * _smooth_noise(rng, size, max(4, size // 8))
    grass = grass * (1.0 + texture / 100.0)[..., None]

    # One-pixel soft edge between sky and grass.
    grass_cover = np.clip(ys - horizon + 0.5, 0.0, 1.0)[..., None]
    image = sky * (1.0 - grass_cover) + grass * grass_cover
    return image.astype(np.float32), float(horizon)


def _add_shadow(background: np.ndarray, animal: Animal) -> None:
    """Darken the grass under `animal` by up to 10%, too little to count as an object."""
    size = background.shape[0]
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    shadow = Ellipse(
        animal.body_centre[0], animal.feet_y, 0.55 * animal.length, 0.06 * animal.length, 0.0
    )
    darkness = np.clip(-shadow.signed_distance(xs, ys) / shadow.b, 0.0, 1.0)
    background *= (1.0 - 0.1 * darkness)[..., None]


def generate_scene(rng: np.random.Generator, size: int) -> Scene:
    """Draw one random scene with one animal (60%) or two (40%)."""
    background, horizon = _paint_background(rng, size)
    count = 2 if rng.random() < 0.4 else 1
    length_range = (0.26, 0.36) if count == 2 else (0.36, 0.5)
    animals = [_random_animal(rng, size, horizon, length_range) for _ in range(count)]
    animals.sort(key=lambda animal: animal.feet_y)
    for animal in animals:
        _add_shadow(background, animal)
    return Scene(
        size=size,
        background=background,
        animals=animals,
        coat_texture=_smooth_noise(rng, size, max(4, size // 12)),
        stripe_warp=_smooth_noise(rng, size, 4) * rng.uniform(0.4, 1.0),
        grain=rng.normal(0.0, 2.0, size=(size, size, 3)).astype(np.float32),
    )


def _paint_animal(image: np.ndarray, scene: Scene, animal: Animal, striped: bool) -> None:
    """Composite `animal` onto `image` in place, with coat colour or stripes."""
    size = scene.size
    boxes = [part.shape.bounds() for part in animal.parts]
    left = max(0, int(math.floor(min(box[0] for box in boxes))) - 2)
    top = max(0, int(math.floor(min(box[1] for box in boxes))) - 2)
    right = min(size, int(math.ceil(max(box[2] for box in boxes))) + 2)
    bottom = min(size, int(math.ceil(max(box[3] for box in boxes))) + 2)
    window = (slice(top, bottom), slice(left, right))
    ys, xs = np.mgrid[top:bottom, left:right].astype(np.float32) + 0.5

    distances = np.stack([part.shape.signed_distance(xs, ys) for part in animal.parts])
    owner = np.argmin(distances, axis=0)
    distance = np.take_along_axis(distances, owner[None], axis=0)[0]
    alpha = np.clip(0.5 - distance, 0.0, 1.0)[..., None]

    # Rounded look: darker towards each part's outline, lighter towards the top of the body.
    thickness = np.array([part.shape.thickness for part in animal.parts], dtype=np.float32)
    rim = np.sqrt(np.clip(-distance / thickness[owner], 0.0, 1.0))
    height = np.clip((animal.body_centre[1] - ys) / (0.5 * animal.length), -1.0, 1.0)
    shade = (0.74 + 0.3 * rim) * (1.0 + 0.1 * height) * (1.0 + 0.04 * scene.coat_texture[window])

    if striped:
        origin_x = np.array([part.stripe_origin[0] for part in animal.parts], dtype=np.float32)
        origin_y = np.array([part.stripe_origin[1] for part in animal.parts], dtype=np.float32)
        angles = np.array([part.stripe_angle for part in animal.parts], dtype=np.float32)
        along = (xs - origin_x[owner]) * np.cos(angles[owner]) + (ys - origin_y[owner]) * np.sin(
            angles[owner]
        )
        phase = 2 * math.pi * along / animal.stripe_period + animal.stripe_phase
        phase += scene.stripe_warp[window]
        # tanh of a scaled sine is a square wave with edges about a tenth of a period wide.
        white = 0.5 + 0.5 * np.tanh(4.0 * np.sin(phase))
        colour = STRIPE_BLACK + (STRIPE_WHITE - STRIPE_BLACK) * white[..., None]
    else:
        tone = np.array([part.tone for part in animal.parts], dtype=np.float32)
        colour = animal.coat * tone[owner][..., None]
    colour = colour * shade[..., None]
    image[window] = image[window] * (1.0 - alpha) + colour * alpha


def render_scene(scene: Scene, striped: bool) -> np.ndarray:
    """Return the uint8 RGB [S, S, 3] image of `scene`: plain coats (domain A) or stripes (B)."""
    image = scene.background.copy()
    for animal in scene.animals:
        _paint_animal(image, scene, animal, striped)
    image += scene.grain
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def generate_synthetic_horse2zebra(
    out_dir: str | os.PathLike,
    n_train: int,
    n_test: int,
    seed: int,
    image_size: int = 256,
    jpeg_quality: int = 95,
) -> Path:
    """Write a synthetic unpaired horse/zebra dataset and return `out_dir/horse2zebra`.

    The folder contains `{trainA,trainB}/{k}.jpg` for k = 1..n_train and `{testA,testB}/{k}.jpg`
    for k = 1..n_test, each image_size x image_size, as in CycleGAN's horse2zebra.zip (A = plain
    coats, B = stripes). `groundtruth/testA/{k}.jpg` is the striped rendering of the scene in
    `testA/{k}.jpg`, and `groundtruth/testB/{k}.jpg` the plain rendering of `testB/{k}.jpg`.
    Scene k of a folder depends only on (seed, folder, k), so the same arguments give
    byte-identical files with the same numpy and Pillow versions. The folder is built beside
    `out_dir/horse2zebra` and renamed into place, replacing an existing one.
    """
    for name, value in (("n_train", n_train), ("n_test", n_test), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if n_train + n_test == 0:
        raise ValueError("n_train and n_test are both 0; request at least one image")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 16:
        raise ValueError(f"image_size must be an integer of at least 16 pixels, got {image_size!r}")
    if not 1 <= jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality must be in 1..100, got {jpeg_quality!r}")

    root = Path(out_dir) / "horse2zebra"
    counts = {"trainA": n_train, "trainB": n_train, "testA": n_test, "testB": n_test}
    jobs = [(folder, k) for folder, count in counts.items() for k in range(1, count + 1)]
    logger.info(
        "Generating %d train and %d test synthetic horse/zebra scenes per domain "
        "(%dx%d, seed %d) in %s",
        n_train,
        n_test,
        image_size,
        image_size,
        seed,
        root,
    )
    with atomic_directory(root) as staging:
        for folder in (
            "trainA",
            "trainB",
            "testA",
            "testB",
            "groundtruth/testA",
            "groundtruth/testB",
        ):
            (staging / folder).mkdir(parents=True)
        for folder, k in tqdm(jobs, desc="synthetic horse2zebra", unit="scene"):
            rng = np.random.default_rng([seed, FOLDER_STREAMS[folder], k])
            scene = generate_scene(rng, image_size)
            striped = folder.endswith("B")
            image = render_scene(scene, striped)
            (staging / folder / f"{k}.jpg").write_bytes(_encode_jpeg(image, jpeg_quality))
            if folder.startswith("test"):
                counterpart = render_scene(scene, not striped)
                (staging / "groundtruth" / folder / f"{k}.jpg").write_bytes(
                    _encode_jpeg(counterpart, jpeg_quality)
                )
    return root

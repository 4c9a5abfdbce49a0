"""Synthetic paired satellite/map images in the on-disk layout of pix2pix's "maps" archive.

Each image is one random city scene rendered twice: a textured, shaded "satellite" view on
the left half and a flat-coloured street map on the right half, like the 1200x600 JPEGs in
`maps.tar.gz`. The scene has a rotated, jittered road grid, city blocks with buildings,
parks, street trees and sometimes a river or a lake.

The satellite view is not a colour lookup of the map: roof colours, heights and shadows vary
per building, trees cover roads and yards, and every surface carries its own texture and noise.
"""

from __future__ import annotations

import io
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from tqdm import tqdm

from sdetranslate.io import atomic_directory

logger = logging.getLogger(__name__)

# Scene labels, one uint8 per pixel.
GROUND = 0
BUILDING = 1
PARK = 2
WATER = 3
ROAD = 4
MAJOR_ROAD = 5

SPLIT_IDS = {"train": 0, "val": 1}

# Street-map palette (RGB), close to the colours of the map halves in pix2pix's maps archive.
MAP_COLOURS = {
    GROUND: (235, 231, 223),
    BUILDING: (220, 215, 207),
    PARK: (200, 223, 168),
    WATER: (170, 206, 250),
    ROAD: (255, 255, 255),
    MAJOR_ROAD: (250, 220, 140),
}
MAP_ROAD_OUTLINE = (205, 199, 190)

# Roof base colours (RGB): grey, dark grey, off-white, terracotta, brown, blue-grey, green-grey.
ROOF_PALETTE = np.array(
    [
        [150, 150, 148],
        [95, 95, 98],
        [205, 203, 198],
        [160, 90, 70],
        [120, 95, 75],
        [110, 120, 135],
        [120, 130, 115],
    ],
    dtype=np.float32,
)


@dataclass
class Scene:
    """One random city scene, rasterised at `size` x `size` pixels."""

    size: int
    labels: np.ndarray  # uint8 [S, S], one of GROUND, BUILDING, PARK, WATER, ROAD, MAJOR_ROAD
    building_ids: np.ndarray  # int32 [S, S], 0 off buildings, else 1..n_buildings
    building_heights: np.ndarray  # float32 [n_buildings + 1], shadow length in pixels
    building_ridge_u: np.ndarray  # float32 [n_buildings + 1], roof ridge position in grid frame
    road_ids: np.ndarray  # uint8 [S, S], 0 off roads, else 1..n_roads
    lane_marks: np.ndarray  # bool [S, S], painted lane lines on major roads
    trees: np.ndarray  # uint8 [S, S], 0 off trees, else canopy shade 1..255
    grid_u: np.ndarray  # float32 [S, S], pixel coordinate across the road grid's first axis
    sun_direction: tuple[float, float]  # unit (dx, dy) in which shadows fall


def _shift(array: np.ndarray, dy: int, dx: int, fill=0) -> np.ndarray:
    """Return `array` moved by (dy, dx) pixels, with `fill` in the uncovered border."""
    out = np.full_like(array, fill)
    height, width = array.shape[:2]
    if abs(dy) >= height or abs(dx) >= width:
        return out
    source = array[max(0, -dy) : height - max(0, dy), max(0, -dx) : width - max(0, dx)]
    out[max(0, dy) : height - max(0, -dy), max(0, dx) : width - max(0, -dx)] = source
    return out


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Return a float32 [size, size] field of smooth noise with about `cells` bumps per side.

    The values have zero mean and roughly unit standard deviation.
    """
    coarse = rng.standard_normal((cells + 3, cells + 3)).astype(np.float32)
    field = Image.fromarray(coarse, mode="F").resize((size, size), Image.Resampling.BICUBIC)
    values = np.asarray(field, dtype=np.float32)
    return (values - values.mean()) / (values.std() + 1e-6)


def _draw_band(draw: ImageDraw.ImageDraw, points, width: int, fill: int) -> None:
    """Draw a polyline `width` pixels wide with round joins and caps.

    With Pillow 13.0, `joint="curve"` leaves gaps and spikes at the joins of a thick,
    finely sampled polyline, so each segment is drawn on its own and a disc covers every join.
    """
    radius = width / 2.0
    for start, end in zip(points[:-1], points[1:]):
        draw.line([start, end], fill=fill, width=width)
    for x, y in points:
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=fill)


def _mask_from_drawing(size: int, draw_shapes) -> np.ndarray:
    """Return a bool mask of the pixels that `draw_shapes(ImageDraw)` paints with fill 255."""
    canvas = Image.new("L", (size, size), 0)
    draw_shapes(ImageDraw.Draw(canvas))
    return np.asarray(canvas) > 0


class _GridFrame:
    """Rotation between image pixels (x, y) and the road grid's axes (u, v), about the centre."""

    def __init__(self, size: int, angle: float):
        self.centre = size / 2.0
        self.cos = math.cos(angle)
        self.sin = math.sin(angle)

    def to_image(self, u: float, v: float) -> tuple[float, float]:
        x = self.centre + self.cos * u - self.sin * v
        y = self.centre + self.sin * u + self.cos * v
        return x, y

    def from_image(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx = x - self.centre
        dy = y - self.centre
        return self.cos * dx + self.sin * dy, -self.sin * dx + self.cos * dy


@dataclass
class _Road:
    points: list[tuple[float, float]]  # polyline in image pixels
    width: int
    major: bool


def _grid_lines(rng: np.random.Generator, size: int, reach: float) -> list[tuple[float, float]]:
    """Return (offset, slope) of jittered parallel grid roads u = offset + slope * v."""
    spacing = size * rng.uniform(0.26, 0.42)
    start = -reach + rng.uniform(0.0, spacing)
    lines = []
    offset = start
    while offset < reach:
        jitter = rng.uniform(-0.15, 0.15) * spacing
        slope = rng.uniform(-0.06, 0.06)
        lines.append((offset + jitter, slope))
        offset += spacing
    return lines


def _road_polyline(frame: _GridFrame, offset: float, slope: float, reach: float, across: bool):
    """Return the image-pixel end points of a grid road, extended past the tile edges."""
    ends = []
    for v in (-reach, reach):
        u = offset + slope * v
        ends.append(frame.to_image(u, v) if across else frame.to_image(v, u))
    return ends


def _extra_roads(rng: np.random.Generator, size: int, widths: list[int]) -> list[_Road]:
    """Return an optional diagonal road and an optional curved road across the tile."""
    roads = []
    if rng.random() < 0.4:
        angle = rng.uniform(0.0, math.pi)
        cx, cy = rng.uniform(0.25, 0.75, size=2) * size
        dx, dy = math.cos(angle) * size, math.sin(angle) * size
        roads.append(
            _Road([(cx - dx, cy - dy), (cx + dx, cy + dy)], int(rng.choice(widths)), False)
        )
    if rng.random() < 0.3:
        t = np.linspace(-0.1, 1.1, 40) * size
        base = rng.uniform(0.2, 0.8) * size
        amplitude = rng.uniform(0.08, 0.2) * size
        phase = rng.uniform(0.0, 2 * math.pi)
        wave = base + amplitude * np.sin(t / size * rng.uniform(2.0, 5.0) + phase)
        points = list(zip(t.tolist(), wave.tolist()))
        if rng.random() < 0.5:
            points = [(y, x) for x, y in points]
        roads.append(_Road(points, int(rng.choice(widths)), False))
    return roads


def _draw_water(rng: np.random.Generator, size: int, setback: int):
    """Return (water mask, water-plus-setback mask). Both are empty when the scene has no water."""
    kind = rng.random()
    if kind < 0.35:
        t = np.linspace(-0.2, 1.2, 50) * size
        base = rng.uniform(0.15, 0.85) * size
        amplitude = rng.uniform(0.03, 0.12) * size
        phase = rng.uniform(0.0, 2 * math.pi)
        wave = base + amplitude * np.sin(t / size * rng.uniform(2.0, 6.0) + phase)
        points = list(zip(t.tolist(), wave.tolist()))
        if rng.random() < 0.5:
            points = [(y, x) for x, y in points]
        width = int(rng.uniform(0.1, 0.22) * size)

        def draw(extra):
            return lambda d: _draw_band(d, points, width + 2 * extra, 255)

    elif kind < 0.55:
        corner = rng.integers(0, 2, size=2) * size
        centre = corner + rng.uniform(-0.1, 0.25, size=2) * np.where(corner > 0, -size, size)
        radius = rng.uniform(0.2, 0.38) * size
        angles = np.linspace(0.0, 2 * math.pi, 28, endpoint=False)
        radii = radius * (1.0 + 0.15 * np.sin(angles * 3 + rng.uniform(0, 6)))
        radii *= rng.uniform(0.9, 1.1, size=angles.size)

        def draw(extra):
            xs = centre[0] + (radii + extra) * np.cos(angles)
            ys = centre[1] + (radii + extra) * np.sin(angles)
            polygon = list(zip(xs.tolist(), ys.tolist()))
            return lambda d: d.polygon(polygon, fill=255)

    else:
        empty = np.zeros((size, size), dtype=bool)
        return empty, empty
    return _mask_from_drawing(size, draw(0)), _mask_from_drawing(size, draw(setback))


def _layout_lots(
    rng: np.random.Generator,
    frame: _GridFrame,
    size: int,
    cuts_u: list[float],
    cuts_v: list[float],
    park_cells: set[tuple[int, int]],
    lot_size: float,
    setback: float,
) -> list[tuple[list[tuple[float, float]], float, float]]:
    """Return (image-pixel corner polygon, shadow length, ridge u) for each building.

    Lots tile each block's interior in the grid frame; some stay empty as yards.
    """
    buildings = []
    # Lots farther than this from the tile centre, along either grid axis, cannot be visible.
    half_diagonal = size * 0.75
    for i in range(len(cuts_u) - 1):
        for j in range(len(cuts_v) - 1):
            if (i, j) in park_cells:
                continue
            u0, u1 = cuts_u[i] + setback, cuts_u[i + 1] - setback
            v0, v1 = cuts_v[j] + setback, cuts_v[j + 1] - setback
            if u1 - u0 < lot_size * 0.5 or v1 - v0 < lot_size * 0.5:
                continue
            n_u = max(1, round((u1 - u0) / lot_size))
            n_v = max(1, round((v1 - v0) / lot_size))
            step_u = (u1 - u0) / n_u
            step_v = (v1 - v0) / n_v
            tall_block = rng.random() < 0.25
            for a in range(n_u):
                for b in range(n_v):
                    lot_u = u0 + a * step_u
                    lot_v = v0 + b * step_v
                    if abs(lot_u) > half_diagonal or abs(lot_v) > half_diagonal:
                        continue
                    inner = 0 < a < n_u - 1 and 0 < b < n_v - 1
                    if rng.random() < (0.55 if inner else 0.12):
                        continue
                    margins = rng.uniform(0.04, 0.22, size=4)
                    bu0 = lot_u + margins[0] * step_u
                    bu1 = lot_u + step_u * (1.0 - margins[1])
                    bv0 = lot_v + margins[2] * step_v
                    bv1 = lot_v + step_v * (1.0 - margins[3])
                    corners = [
                        frame.to_image(u, v)
                        for u, v in ((bu0, bv0), (bu1, bv0), (bu1, bv1), (bu0, bv1))
                    ]
                    height = size * (
                        rng.uniform(0.02, 0.05) if tall_block else rng.uniform(0.006, 0.018)
                    )
                    buildings.append((corners, height, (bu0 + bu1) / 2.0))
    return buildings


def generate_scene(rng: np.random.Generator, size: int) -> Scene:
    """Draw a random city scene: road grid, blocks with buildings, parks, trees and water."""
    frame = _GridFrame(size, rng.uniform(-0.45, 0.45))
    reach = size * 0.75 * math.sqrt(2.0)
    widths = [max(2, round(size * f)) for f in (0.025, 0.033, 0.042)]
    major_width = max(3, round(size * 0.055))
    setback = max(1.0, size * 0.012)

    lines_u = _grid_lines(rng, size, reach)
    lines_v = _grid_lines(rng, size, reach)
    roads: list[_Road] = []
    for offset, slope in lines_u:
        roads.append(
            _Road(_road_polyline(frame, offset, slope, reach, True), int(rng.choice(widths)), False)
        )
    for offset, slope in lines_v:
        roads.append(
            _Road(
                _road_polyline(frame, offset, slope, reach, False), int(rng.choice(widths)), False
            )
        )
    major_index = int(rng.integers(0, len(roads)))
    roads[major_index].width = major_width
    roads[major_index].major = True
    roads.extend(_extra_roads(rng, size, widths))

    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    grid_u, grid_v = frame.from_image(xs + 0.5, ys + 0.5)
    cell_u = np.zeros((size, size), dtype=np.int32)
    for offset, slope in lines_u:
        cell_u += grid_u > offset + slope * grid_v
    cell_v = np.zeros((size, size), dtype=np.int32)
    for offset, slope in lines_v:
        cell_v += grid_v > offset + slope * grid_u

    n_cells_v = len(lines_v) + 1
    park_cells = {
        (i, j) for i in range(len(lines_u) + 1) for j in range(n_cells_v) if rng.random() < 0.14
    }
    park_lookup = np.zeros((len(lines_u) + 1) * n_cells_v, dtype=bool)
    for i, j in park_cells:
        park_lookup[i * n_cells_v + j] = True
    park_mask = park_lookup[cell_u * n_cells_v + cell_v]

    # Road network, drawn once at road width and once widened by the building setback.
    road_canvas = Image.new("L", (size, size), 0)
    road_draw = ImageDraw.Draw(road_canvas)
    keepout_canvas = Image.new("L", (size, size), 0)
    keepout_draw = ImageDraw.Draw(keepout_canvas)
    for road_id, road in enumerate(roads, start=1):
        if not road.major:
            _draw_band(road_draw, road.points, road.width, road_id)
        _draw_band(keepout_draw, road.points, road.width + 2 * round(setback), 255)
    water, water_keepout = _draw_water(rng, size, round(setback))
    major = roads[major_index]
    _draw_band(road_draw, major.points, major.width, major_index + 1)
    road_ids = np.asarray(road_canvas).copy()
    road_ids[water & (road_ids != major_index + 1)] = 0
    keepout = (np.asarray(keepout_canvas) > 0) | water_keepout | park_mask

    lane_marks = _mask_from_drawing(size, lambda d: _draw_dashes(d, major.points, size))
    lane_marks &= road_ids == major_index + 1

    cuts_u = [-reach] + [offset for offset, _ in lines_u] + [reach]
    cuts_v = [-reach] + [offset for offset, _ in lines_v] + [reach]
    # Lots are laid out between road centres, ignoring each road's slope. The keep-out mask
    # later clips or drops the buildings that still reach a road.
    half_road = max(widths) / 2.0
    lot_size = size * float(rng.choice([0.045, 0.06, 0.08]))
    buildings = _layout_lots(
        rng, frame, size, cuts_u, cuts_v, park_cells, lot_size, setback + half_road
    )
    building_canvas = Image.new("I", (size, size), 0)
    building_draw = ImageDraw.Draw(building_canvas)
    for building_id, (corners, _, _) in enumerate(buildings, start=1):
        building_draw.polygon(corners, fill=building_id)
    building_ids = np.asarray(building_canvas, dtype=np.int32).copy()
    building_ids = _drop_clipped_buildings(building_ids, keepout, len(buildings))

    heights = np.zeros(len(buildings) + 1, dtype=np.float32)
    ridges = np.zeros(len(buildings) + 1, dtype=np.float32)
    for building_id, (_, height, ridge) in enumerate(buildings, start=1):
        heights[building_id] = height
        ridges[building_id] = ridge

    labels = np.full((size, size), GROUND, dtype=np.uint8)
    labels[park_mask] = PARK
    labels[building_ids > 0] = BUILDING
    labels[road_ids > 0] = ROAD
    labels[water] = WATER
    labels[road_ids == major_index + 1] = MAJOR_ROAD

    trees = _plant_trees(rng, size, labels)
    sun_angle = rng.uniform(0.0, 2 * math.pi)
    return Scene(
        size=size,
        labels=labels,
        building_ids=building_ids,
        building_heights=heights,
        building_ridge_u=ridges,
        road_ids=road_ids,
        lane_marks=lane_marks,
        trees=trees,
        grid_u=grid_u.astype(np.float32),
        sun_direction=(math.cos(sun_angle), math.sin(sun_angle)),
    )


def _draw_dashes(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], size: int) -> None:
    """Draw a dashed centre line along a straight road from its first to its last point."""
    (x0, y0), (x1, y1) = points[0], points[-1]
    length = math.hypot(x1 - x0, y1 - y0)
    dash = max(2.0, size * 0.025)
    width = max(1, round(size / 300))
    steps = int(length // (2 * dash))
    for k in range(steps):
        t0 = 2 * k * dash / length
        t1 = (2 * k + 1) * dash / length
        draw.line(
            [
                (x0 + t0 * (x1 - x0), y0 + t0 * (y1 - y0)),
                (x0 + t1 * (x1 - x0), y0 + t1 * (y1 - y0)),
            ],
            fill=255,
            width=width,
        )


def _drop_clipped_buildings(
    building_ids: np.ndarray, keepout: np.ndarray, count: int
) -> np.ndarray:
    """Clear buildings on roads, water and parks, and drop any that lose over 40% of their area."""
    total = np.bincount(building_ids.ravel(), minlength=count + 1)
    building_ids = np.where(keepout, 0, building_ids)
    kept = np.bincount(building_ids.ravel(), minlength=count + 1)
    survives = kept >= 0.6 * np.maximum(total, 1)
    survives[0] = False
    return np.where(survives[building_ids], building_ids, 0).astype(np.int32)


def _plant_trees(rng: np.random.Generator, size: int, labels: np.ndarray) -> np.ndarray:
    """Return a canopy map: dense trees in parks, scattered trees in yards, a few over roads."""
    candidates = rng.uniform(0, size, size=(int(size * size / 300) + 50, 2))
    xs = candidates[:, 0].astype(int)
    ys = candidates[:, 1].astype(int)
    under = labels[ys, xs]
    keep_probability = np.select(
        [under == PARK, under == GROUND, under == ROAD], [0.9, 0.35, 0.04], 0.0
    )
    keep = rng.random(len(candidates)) < keep_probability
    radii = rng.uniform(0.008, 0.02, size=len(candidates)) * size
    shades = rng.integers(90, 256, size=len(candidates))
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    for (x, y), radius, shade in zip(candidates[keep], radii[keep], shades[keep]):
        radius = max(radius, 1.0)
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=int(shade))
    return np.asarray(canvas).copy()


def render_map(scene: Scene) -> np.ndarray:
    """Render the street map of `scene` as uint8 RGB [S, S, 3] in flat colours, without noise."""
    palette = np.zeros((max(MAP_COLOURS) + 1, 3), dtype=np.uint8)
    for label, colour in MAP_COLOURS.items():
        palette[label] = colour
    image = palette[scene.labels]

    roads = scene.road_ids > 0
    outline_width = max(1, round(scene.size / 300))
    widened = roads.copy()
    for dy in range(-outline_width, outline_width + 1):
        for dx in range(-outline_width, outline_width + 1):
            if dy or dx:
                widened |= _shift(roads, dy, dx, False)
    image[widened & ~roads & (scene.labels != WATER)] = MAP_ROAD_OUTLINE
    return image


def render_satellite(scene: Scene, rng: np.random.Generator) -> np.ndarray:
    """Render an aerial photo of `scene` as uint8 RGB [S, S, 3], textured, shaded and noisy."""
    size = scene.size
    labels = scene.labels
    fine = rng.standard_normal((size, size)).astype(np.float32)
    patches = _smooth_noise(rng, size, 8)
    detail = _smooth_noise(rng, size, max(4, size // 12))

    image = np.zeros((size, size, 3), dtype=np.float32)

    # Yards and lots: a blend of bare earth/pavement and lawn.
    lawn = np.clip(0.5 + 0.35 * patches + 0.15 * detail, 0.0, 1.0)[..., None]
    earth = np.array([150, 140, 122], dtype=np.float32)
    grass = np.array([92, 112, 68], dtype=np.float32)
    ground = earth * (1 - lawn) + grass * lawn + (6 * fine)[..., None]
    image[labels == GROUND] = ground[labels == GROUND]

    park_grass = (
        np.array([88, 118, 62], dtype=np.float32) * (1 + 0.08 * patches + 0.05 * detail)[..., None]
    )
    image[labels == PARK] = park_grass[labels == PARK]

    _paint_water(image, scene, rng, fine)
    _paint_roads(image, scene, rng, fine, detail)
    _paint_buildings(image, scene, rng, fine)
    _paint_trees(image, scene, rng, fine, detail)

    grade = rng.uniform(0.9, 1.1, size=3).astype(np.float32) * rng.uniform(0.85, 1.1)
    haze = rng.uniform(0.0, 18.0)
    image = image * grade + haze
    blurred = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(radius=max(0.4, 0.8 * size / 600))
    )
    noisy = np.asarray(blurred, dtype=np.float32) + rng.normal(0.0, 3.0, size=(size, size, 3))
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def _paint_water(
    image: np.ndarray, scene: Scene, rng: np.random.Generator, fine: np.ndarray
) -> None:
    water = scene.labels == WATER
    if not water.any():
        return
    size = scene.size
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    angle = rng.uniform(0, math.pi)
    wavelength = max(3.0, size * 0.012)
    phase = (xs * math.cos(angle) + ys * math.sin(angle)) / wavelength * 2 * math.pi
    ripples = np.sin(phase + 1.5 * _smooth_noise(rng, size, 12)) * 4.0 + 3.0 * fine
    base = np.array([34, 54, 60], dtype=np.float32) * rng.uniform(0.85, 1.2)
    image[water] = base + ripples[water][:, None]


def _paint_roads(
    image: np.ndarray, scene: Scene, rng: np.random.Generator, fine: np.ndarray, detail: np.ndarray
) -> None:
    roads = scene.road_ids > 0
    brightness = rng.uniform(100, 150, size=256).astype(np.float32)
    asphalt = brightness[scene.road_ids] + 7 * fine + 5 * detail
    image[roads] = asphalt[roads][:, None] * np.array([1.0, 1.0, 1.03], dtype=np.float32)
    image[scene.lane_marks] = np.array([225, 225, 215], dtype=np.float32)

    # Cars: small coloured rectangles on road pixels.
    size = scene.size
    count = int(size * size / 4000) + 5
    xs = rng.integers(0, size, size=count)
    ys = rng.integers(0, size, size=count)
    colours = rng.uniform(20, 235, size=(count, 3)).astype(np.float32)
    half = max(1, round(size * 0.005))
    for x, y, colour in zip(xs, ys, colours):
        if roads[y, x]:
            block = (slice(max(0, y - half), y + half + 1), slice(max(0, x - half), x + half + 1))
            image[block][roads[block]] = colour


def _paint_buildings(
    image: np.ndarray, scene: Scene, rng: np.random.Generator, fine: np.ndarray
) -> None:
    ids = scene.building_ids
    count = len(scene.building_heights)
    on_building = ids > 0

    # Shadows fall on the ground, water and roads next to each building, away from the sun.
    dx, dy = scene.sun_direction
    max_length = float(scene.building_heights.max(initial=0.0))
    steps = max(1, min(10, math.ceil(max_length)))
    shadow = np.zeros_like(on_building)
    for step in range(1, steps + 1):
        distance = max_length * step / steps
        caster = _shift(ids, round(dy * distance), round(dx * distance))
        shadow |= (caster > 0) & (scene.building_heights[caster] >= distance)
    shadow &= ~on_building
    image[shadow] *= 0.45

    roof_choice = rng.integers(0, len(ROOF_PALETTE), size=count)
    roof = ROOF_PALETTE[roof_choice] * rng.uniform(0.8, 1.2, size=(count, 1)).astype(np.float32)
    roof += rng.normal(0.0, 8.0, size=(count, 3)).astype(np.float32)
    ridge_side = scene.grid_u > scene.building_ridge_u[ids]
    lit_side = rng.random(count) < 0.5
    shade = np.where(ridge_side == lit_side[ids], 1.08, 0.88).astype(np.float32)
    texture = 1.0 + 0.04 * fine
    # Roof edges (parapets and eaves) are darker than the roof surface.
    edge = np.zeros_like(on_building)
    for sy, sx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        edge |= _shift(ids, sy, sx) != ids
    edge_factor = np.where(edge, 0.75, 1.0).astype(np.float32)
    colour = roof[ids] * (shade * texture * edge_factor)[..., None]
    image[on_building] = colour[on_building]


def _paint_trees(
    image: np.ndarray, scene: Scene, rng: np.random.Generator, fine: np.ndarray, detail: np.ndarray
) -> None:
    canopy = scene.trees > 0
    if not canopy.any():
        return
    offset = max(1, round(scene.size * 0.006))
    dx, dy = scene.sun_direction
    tree_shadow = _shift(canopy, round(dy * offset), round(dx * offset), False) & ~canopy
    image[tree_shadow] *= 0.6
    shade = scene.trees.astype(np.float32) / 255.0
    leaves = np.array([42, 68, 36], dtype=np.float32)
    canopy_colour = leaves * (0.75 + 0.45 * shade)[..., None]
    canopy_colour *= (1.0 + 0.12 * detail + 0.1 * fine)[..., None]
    image[canopy] = canopy_colour[canopy]


def render_pair(seed: int, split: str, index: int, tile_size: int) -> np.ndarray:
    """Return one uint8 RGB [S, 2S, 3] pair: satellite on the left, street map on the right."""
    rng = np.random.default_rng([seed, SPLIT_IDS[split], index])
    scene = generate_scene(rng, tile_size)
    satellite = render_satellite(scene, rng)
    street_map = render_map(scene)
    return np.concatenate([satellite, street_map], axis=1)


def generate_synthetic_maps(
    out_dir: str | os.PathLike,
    n_train: int,
    n_val: int,
    seed: int,
    tile_size: int = 600,
    jpeg_quality: int = 95,
) -> Path:
    """Write `out_dir/maps/{train,val}/{k}.jpg` for k = 1..n and return `out_dir/maps`.

    Each file is a (2 * tile_size) x tile_size JPEG. Image k of a split depends only on
    (seed, split, k), so the same arguments give byte-identical files with the same numpy
    and Pillow versions. The folder is built beside `out_dir/maps` and renamed into place,
    replacing an existing one.
    """
    for name, value in (("n_train", n_train), ("n_val", n_val)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if n_train + n_val == 0:
        raise ValueError("n_train and n_val are both 0; request at least one image")
    if isinstance(tile_size, bool) or not isinstance(tile_size, int) or tile_size < 16:
        raise ValueError(f"tile_size must be an integer of at least 16 pixels, got {tile_size!r}")
    if not 1 <= jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality must be in 1..100, got {jpeg_quality!r}")

    root = Path(out_dir) / "maps"
    jobs = [("train", k) for k in range(1, n_train + 1)] + [("val", k) for k in range(1, n_val + 1)]
    logger.info(
        "Generating %d train and %d val synthetic map pairs (%dx%d, seed %d) in %s",
        n_train,
        n_val,
        2 * tile_size,
        tile_size,
        seed,
        root,
    )
    with atomic_directory(root) as staging:
        for split in ("train", "val"):
            (staging / split).mkdir()
        for split, k in tqdm(jobs, desc="synthetic maps", unit="image"):
            pair = render_pair(seed, split, k, tile_size)
            buffer = io.BytesIO()
            Image.fromarray(pair).save(buffer, format="JPEG", quality=jpeg_quality)
            (staging / split / f"{k}.jpg").write_bytes(buffer.getvalue())
    return root

"""Conversion of side-by-side paired JPEGs (pix2pix layout) into uint8 tensors.

The saved file is a dict, readable with `torch.load(weights_only=True)`:

    {"a": uint8 [N, 3, H, W], "b": uint8 [N, 3, H, W], "names": list[str],
     "domains": [name of a, name of b], "image_size": H, "split": str}

"a" is the left half of each image and "b" the right half, and H == W == image_size.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from sdetranslate.io import load_torch, save_torch

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
PAIRED_SPLIT_KEYS = ("a", "b", "names", "domains", "image_size", "split")


def natural_sort_key(name: str) -> tuple:
    """Return a sort key that compares digit runs as numbers, so "2.jpg" sorts before "10.jpg"."""
    parts = re.split(r"(\d+)", name)
    return (
        tuple((0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in parts),
        name,
    )


def list_split_images(split_dir: Path) -> list[Path]:
    """Return the .jpg, .jpeg and .png files in `split_dir` in natural order, except hidden ones."""
    files = [
        path
        for path in split_dir.iterdir()
        if path.is_file()
        and path.suffix.lower() in IMAGE_SUFFIXES
        and not path.name.startswith(".")
    ]
    return sorted(files, key=lambda path: natural_sort_key(path.name))


def load_rgb(path: Path) -> Image.Image:
    """Decode the whole image at `path` and return it as RGB, compositing transparency on white.

    Raises ValueError naming the file when it cannot be decoded completely.
    """
    try:
        with Image.open(path) as image:
            image.load()
            has_alpha = image.mode in ("RGBA", "LA", "PA") or (
                image.mode == "P" and "transparency" in image.info
            )
            if has_alpha:
                rgba = image.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                return Image.alpha_composite(white, rgba).convert("RGB")
            return image.convert("RGB")
    except (OSError, Image.DecompressionBombError, SyntaxError) as error:
        raise ValueError(
            f"cannot decode image {path} ({error}); the file is corrupt or truncated. "
            "Replace it or extract the dataset again"
        ) from error


def split_pair(image: Image.Image, path: Path, image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut a 2H x H image into left and right halves, each resized to image_size x image_size.

    Resizing uses Pillow's bicubic filter on the full-resolution half with `reducing_gap=None`.
    Pillow widens the filter support by the scale factor when downscaling, so the result is
    antialiased: a 600x600 one-pixel checkerboard becomes uniform grey at 32x32 (Pillow 13.0).
    """
    width, height = image.size
    if width != 2 * height:
        raise ValueError(
            f"{path} is {width}x{height}, but a paired image must be twice as wide as it is high "
            "(left half domain A, right half domain B); remove or fix this file"
        )
    halves = []
    for box in ((0, 0, height, height), (height, 0, width, height)):
        half = image.crop(box).resize(
            (image_size, image_size), Image.Resampling.BICUBIC, reducing_gap=None
        )
        halves.append(np.asarray(half, dtype=np.uint8))
    return halves[0], halves[1]


def prepare_paired_split(
    root: str | os.PathLike,
    split: str,
    image_size: int,
    limit: int | None,
    out_path: str | os.PathLike,
    domains: tuple[str, str] | list[str] = ("satellite", "map"),
) -> dict:
    """Read `root/split` paired images, save them as uint8 tensors at `out_path`, return the dict.

    Files are taken in natural order ("2.jpg" before "10.jpg"), the first `limit` of them, or
    all when `limit` is None. The left half of each image becomes "a" (`domains[0]`) and
    the right half "b" (`domains[1]`). The format is described in this module's docstring.
    """
    root = Path(root)
    split_dir = root / split
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
    domains = list(domains)
    if len(domains) != 2 or not all(isinstance(name, str) and name for name in domains):
        raise ValueError(f"domains must be two non-empty names, got {domains!r}")
    if not split_dir.is_dir():
        raise FileNotFoundError(
            f"split folder {split_dir} not found; check the dataset root and the split name"
        )

    files = list_split_images(split_dir)
    if not files:
        raise ValueError(f"{split_dir} contains no .jpg, .jpeg or .png images")
    if limit is not None:
        if limit > len(files):
            raise ValueError(
                f"limit {limit} is larger than the {len(files)} images in {split_dir}; "
                f"lower the limit to at most {len(files)}"
            )
        files = files[:limit]

    logger.info(
        "Preparing %d images from %s at %dx%d", len(files), split_dir, image_size, image_size
    )
    lefts, rights = [], []
    for path in tqdm(files, desc=f"prepare {split}", unit="image"):
        left, right = split_pair(load_rgb(path), path, image_size)
        lefts.append(left)
        rights.append(right)

    data = {
        "a": torch.from_numpy(np.stack(lefts)).permute(0, 3, 1, 2).contiguous(),
        "b": torch.from_numpy(np.stack(rights)).permute(0, 3, 1, 2).contiguous(),
        "names": [path.stem for path in files],
        "domains": domains,
        "image_size": image_size,
        "split": split,
    }
    save_torch(data, out_path)
    logger.info("Saved %s", out_path)
    return data


def load_paired_split(path: str | os.PathLike) -> dict:
    """Load a file written by `prepare_paired_split` and check its keys, shapes and dtypes.

    Raises ValueError naming the file and the first problem found.
    """
    path = Path(path)
    data = load_torch(path)

    def invalid(problem: str) -> ValueError:
        return ValueError(
            f"{path} is not a valid paired split: {problem}; "
            "delete it and rerun the Snakemake rule that writes it"
        )

    if not isinstance(data, dict):
        raise invalid(f"expected a dict, got {type(data).__name__}")
    missing = [key for key in PAIRED_SPLIT_KEYS if key not in data]
    if missing:
        raise invalid(f"missing keys {missing}")
    image_size = data["image_size"]
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise invalid(f"image_size must be a positive integer, got {image_size!r}")
    for key in ("a", "b"):
        images = data[key]
        if not isinstance(images, torch.Tensor):
            raise invalid(f"{key!r} must be a tensor, got {type(images).__name__}")
        if images.dtype != torch.uint8:
            raise invalid(f"{key!r} must have dtype uint8, got {images.dtype}")
        if images.dim() != 4 or tuple(images.shape[1:]) != (3, image_size, image_size):
            raise invalid(
                f"{key!r} must have shape [N, 3, {image_size}, {image_size}], "
                f"got {list(images.shape)}"
            )
    if data["a"].shape[0] != data["b"].shape[0]:
        raise invalid(f"'a' has {data['a'].shape[0]} images but 'b' has {data['b'].shape[0]}")
    names = data["names"]
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise invalid("'names' must be a list of strings")
    if len(names) != data["a"].shape[0]:
        raise invalid(f"'names' has {len(names)} entries for {data['a'].shape[0]} images")
    domains = data["domains"]
    if (
        not isinstance(domains, list)
        or len(domains) != 2
        or not all(isinstance(d, str) for d in domains)
    ):
        raise invalid(f"'domains' must be a list of two names, got {domains!r}")
    if not isinstance(data["split"], str):
        raise invalid(f"'split' must be a string, got {data['split']!r}")
    return data

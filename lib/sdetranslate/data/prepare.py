"""Conversion of side-by-side paired JPEGs (pix2pix layout) into uint8 tensors.

The saved file is a dict, readable with `torch.load(weights_only=True)`:

    {"a": uint8 [N, 3, H, W], "b": uint8 [N, 3, H, W], "names": list[str],
     "domains": [name of a, name of b], "image_size": H, "split": str}

"a" is the left half of each image and "b" the right half, and H == W == image_size.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sdetranslate.data.images import (
    IMAGE_SUFFIXES,
    SourceImage,
    apply_bad_image_policy,
    check_bad_image_policy,
    check_counts,
    decode_image,
    list_split_images,
    natural_sort_key,
    select_images,
)
from sdetranslate.data.records import (
    MANIFEST_COLUMNS,
    REJECTED_COLUMNS,
    manifest_row,
    rejected_row,
    write_records,
)
from sdetranslate.io import load_torch, save_torch

logger = logging.getLogger(__name__)

__all__ = [
    "IMAGE_SUFFIXES",
    "PAIRED_SPLIT_KEYS",
    "list_split_images",
    "load_paired_split",
    "load_rgb",
    "natural_sort_key",
    "prepare_paired_split",
    "split_pair",
    "validate_split",
]

PAIRED_SPLIT_KEYS = ("a", "b", "names", "domains", "image_size", "split")


def load_rgb(path: Path) -> Image.Image:
    """Decode the whole image at `path` and return it as RGB, compositing transparency on white.

    Raises ValueError (a BadImageError) naming the file when it cannot be decoded completely.
    """
    return decode_image(path)[0]


def paired_size_problem(source: SourceImage) -> str | None:
    """Return why a paired file has the wrong size, or None when it is exactly 2H x H."""
    if source.width == 2 * source.height:
        return None
    return (
        f"size {source.width}x{source.height}, but a paired image must be exactly twice as "
        "wide as it is high (left half domain A, right half domain B)"
    )


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
    on_bad_image: str = "fail",
    manifest_path: str | os.PathLike | None = None,
    rejected_path: str | os.PathLike | None = None,
    role: str = "",
) -> dict:
    """Read `root/split` paired images, save them as uint8 tensors at `out_path`, return the dict.

    Every image file in the folder is decoded and its size checked. Bad files (corrupt,
    empty, not an image, or not exactly 2H x H) make the call fail with a list of all
    of them when `on_bad_image` is "fail", and are left out when it is "skip". Of the
    usable files in natural order ("2.jpg" before "10.jpg"), the first `limit` are used,
    or all when `limit` is None. The left half of each image becomes "a" (`domains[0]`)
    and the right half "b" (`domains[1]`). When given, `manifest_path` receives a CSV
    row per file used and `rejected_path` one per bad file, both labelled with `role`.
    The tensor format is described in this module's docstring.
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
    check_bad_image_policy(on_bad_image)
    if not split_dir.is_dir():
        raise FileNotFoundError(
            f"split folder {split_dir} not found; check the dataset root and the split name"
        )

    def convert(image: Image.Image, source: SourceImage):
        return split_pair(image, source.path, image_size), [source]

    logger.info("Checking the images in %s", split_dir)
    selection = select_images(split_dir, limit, convert, check=paired_size_problem)
    apply_bad_image_policy([selection], on_bad_image)
    check_counts(selection)

    logger.info(
        "Preparing %d images from %s at %dx%d",
        len(selection.values),
        split_dir,
        image_size,
        image_size,
    )
    data = {
        "a": torch.from_numpy(np.stack([left for left, _ in selection.values]))
        .permute(0, 3, 1, 2)
        .contiguous(),
        "b": torch.from_numpy(np.stack([right for _, right in selection.values]))
        .permute(0, 3, 1, 2)
        .contiguous(),
        "names": [sources[0].path.stem for sources in selection.sources],
        "domains": domains,
        "image_size": image_size,
        "split": split,
    }
    if manifest_path is not None:
        domain = "+".join(domains)
        rows = [
            manifest_row(role, split, domain, index, source)
            for index, sources in enumerate(selection.sources)
            for source in sources
        ]
        write_records(rows, MANIFEST_COLUMNS, manifest_path)
    if rejected_path is not None:
        rows = [rejected_row(role, split, error) for error in selection.rejected]
        write_records(rows, REJECTED_COLUMNS, rejected_path)
    save_torch(data, out_path)
    logger.info("Saved %s", out_path)
    return data


def validate_split(
    data, path: Path, kind: str, required: tuple[str, ...], groups: dict[str, list[str]]
) -> dict:
    """Check the keys, image tensors, names, domains and split name of a split loaded from `path`.

    `groups` maps each names key to the image keys whose first dimension it
    must match, for example {"names": ["a", "b"]}. Image keys absent from the
    file are skipped, which leaves room for optional tensors. Raises ValueError
    naming the file and the first problem found.
    """
    def invalid(problem: str) -> ValueError:
        return ValueError(
            f"{path} is not a valid {kind} split: {problem}; "
            "delete it and rerun the Snakemake rule that writes it"
        )

    if not isinstance(data, dict):
        raise invalid(f"expected a dict, got {type(data).__name__}")
    missing = [key for key in required if key not in data]
    if missing:
        raise invalid(f"missing keys {missing}")
    image_size = data["image_size"]
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise invalid(f"image_size must be a positive integer, got {image_size!r}")
    for names_key, image_keys in groups.items():
        names = data[names_key]
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise invalid(f"{names_key!r} must be a list of strings")
        for key in (key for key in image_keys if key in data):
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
            if images.shape[0] != len(names):
                raise invalid(
                    f"{names_key!r} has {len(names)} entries for {images.shape[0]} images in {key!r}"
                )
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


def load_paired_split(path: str | os.PathLike) -> dict:
    """Load a file written by `prepare_paired_split` and check its keys, shapes and dtypes.

    Raises ValueError naming the file and the first problem found.
    """
    return check_paired_split(load_torch(path), Path(path))


def check_paired_split(data, path: Path) -> dict:
    """Check a paired split already loaded from `path`; see `load_paired_split`."""
    return validate_split(data, path, "paired", PAIRED_SPLIT_KEYS, {"names": ["a", "b"]})

"""Conversion of two folders of unpaired images (CycleGAN layout) into uint8 tensors.

The saved file is a dict, readable with `torch.load(weights_only=True)`:

    {"a": uint8 [Na, 3, H, W], "b": uint8 [Nb, 3, H, W],
     "names_a": list[str], "names_b": list[str], "domains": [name of a, name of b],
     "image_size": H, "split": "<split_a>+<split_b>",
     "a_counterpart": uint8 [Na, 3, H, W] (optional),
     "b_counterpart": uint8 [Nb, 3, H, W] (optional)}

H == W == image_size, and Na and Nb may differ. `a_counterpart[i]` is the domain B rendering
of `a[i]` and `b_counterpart[i]` the domain A rendering of `b[i]`. They exist only for
datasets with a ground truth, such as the synthetic one in `synthetic_unpaired`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from sdetranslate.data.prepare import list_split_images, load_rgb
from sdetranslate.io import load_torch, save_torch

logger = logging.getLogger(__name__)

UNPAIRED_SPLIT_KEYS = ("a", "b", "names_a", "names_b", "domains", "image_size", "split")


def resize_square(image: Image.Image, image_size: int) -> np.ndarray:
    """Return `image` as a uint8 [image_size, image_size, 3] array.

    A non-square image is first center-cropped to a square on its shorter side, so objects
    keep their aspect ratio and the crop drops equal margins on both long sides. Resizing uses
    Pillow's bicubic filter with `reducing_gap=None`, which widens the filter by the scale
    factor when downscaling and so antialiases.
    """
    width, height = image.size
    if width != height:
        side = min(width, height)
        left = (width - side) // 2
        top = (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    resized = image.resize((image_size, image_size), Image.Resampling.BICUBIC, reducing_gap=None)
    return np.asarray(resized, dtype=np.uint8)


def _choose_files(root: Path, split: str, limit: int | None) -> list[Path]:
    """Return the first `limit` images of `root/split` in natural order, or all of them."""
    split_dir = root / split
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
    return files


def _match_counterparts(root: Path, folder: str, files: list[Path]) -> list[Path]:
    """Return the image in `root/folder` with the same file stem as each of `files`."""
    counterpart_dir = root / folder
    if not counterpart_dir.is_dir():
        raise FileNotFoundError(
            f"counterpart folder {counterpart_dir} not found; check the folder name, "
            "or pass None for a dataset without ground truth"
        )
    by_stem: dict[str, Path] = {}
    for path in list_split_images(counterpart_dir):
        if path.stem in by_stem:
            raise ValueError(
                f"{counterpart_dir} has two images with the stem {path.stem!r} "
                f"({by_stem[path.stem].name} and {path.name}); keep only one of them"
            )
        by_stem[path.stem] = path
    matched = []
    for path in files:
        if path.stem not in by_stem:
            raise FileNotFoundError(
                f"counterpart of {path} not found: {counterpart_dir} has no image with the "
                f"stem {path.stem!r}; add it or remove {path.name} from {path.parent}"
            )
        matched.append(by_stem[path.stem])
    return matched


def _load_stack(files: list[Path], image_size: int, description: str) -> torch.Tensor:
    """Decode, resize and stack images into a uint8 tensor [N, 3, image_size, image_size]."""
    arrays = [
        resize_square(load_rgb(path), image_size)
        for path in tqdm(files, desc=description, unit="image")
    ]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def prepare_unpaired_split(
    root: str | os.PathLike,
    split_a: str,
    split_b: str,
    image_size: int,
    limit: int | None,
    out_path: str | os.PathLike,
    domains: tuple[str, str] | list[str] = ("horse", "zebra"),
    counterpart_a: str | None = None,
    counterpart_b: str | None = None,
) -> dict:
    """Read `root/split_a` and `root/split_b`, save them at `out_path`, and return the dict.

    From each folder, files are taken in natural order ("2.jpg" before "10.jpg"), the first
    `limit` of them, or all when `limit` is None. `counterpart_a` and `counterpart_b` name
    folders under `root` (for example "groundtruth/testA") whose images, matched by file stem,
    are the other domain's renderings of the chosen files. The format is described in this
    module's docstring.
    """
    root = Path(root)
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
    domains = list(domains)
    if len(domains) != 2 or not all(isinstance(name, str) and name for name in domains):
        raise ValueError(f"domains must be two non-empty names, got {domains!r}")

    files_a = _choose_files(root, split_a, limit)
    files_b = _choose_files(root, split_b, limit)
    counterparts_a = _match_counterparts(root, counterpart_a, files_a) if counterpart_a else None
    counterparts_b = _match_counterparts(root, counterpart_b, files_b) if counterpart_b else None

    logger.info(
        "Preparing %d images from %s and %d from %s at %dx%d",
        len(files_a),
        root / split_a,
        len(files_b),
        root / split_b,
        image_size,
        image_size,
    )
    data = {
        "a": _load_stack(files_a, image_size, f"prepare {split_a}"),
        "b": _load_stack(files_b, image_size, f"prepare {split_b}"),
        "names_a": [path.stem for path in files_a],
        "names_b": [path.stem for path in files_b],
        "domains": domains,
        "image_size": image_size,
        "split": f"{split_a}+{split_b}",
    }
    if counterparts_a is not None:
        data["a_counterpart"] = _load_stack(counterparts_a, image_size, f"prepare {counterpart_a}")
    if counterparts_b is not None:
        data["b_counterpart"] = _load_stack(counterparts_b, image_size, f"prepare {counterpart_b}")
    save_torch(data, out_path)
    logger.info("Saved %s", out_path)
    return data


def load_unpaired_split(path: str | os.PathLike) -> dict:
    """Load a file written by `prepare_unpaired_split` and check its keys, shapes and dtypes.

    Raises ValueError naming the file and the first problem found.
    """
    path = Path(path)
    data = load_torch(path)

    def invalid(problem: str) -> ValueError:
        return ValueError(
            f"{path} is not a valid unpaired split: {problem}; "
            "delete it and rerun the Snakemake rule that writes it"
        )

    if not isinstance(data, dict):
        raise invalid(f"expected a dict, got {type(data).__name__}")
    missing = [key for key in UNPAIRED_SPLIT_KEYS if key not in data]
    if missing:
        raise invalid(f"missing keys {missing}")
    image_size = data["image_size"]
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise invalid(f"image_size must be a positive integer, got {image_size!r}")

    for key in ("a", "b"):
        images_keys = [key]
        if f"{key}_counterpart" in data:
            images_keys.append(f"{key}_counterpart")
        for images_key in images_keys:
            images = data[images_key]
            if not isinstance(images, torch.Tensor):
                raise invalid(f"{images_key!r} must be a tensor, got {type(images).__name__}")
            if images.dtype != torch.uint8:
                raise invalid(f"{images_key!r} must have dtype uint8, got {images.dtype}")
            if images.dim() != 4 or tuple(images.shape[1:]) != (3, image_size, image_size):
                raise invalid(
                    f"{images_key!r} must have shape [N, 3, {image_size}, {image_size}], "
                    f"got {list(images.shape)}"
                )
        count = data[key].shape[0]
        for images_key in images_keys[1:]:
            if data[images_key].shape[0] != count:
                raise invalid(
                    f"{images_key!r} has {data[images_key].shape[0]} images but {key!r} has {count}"
                )
        names = data[f"names_{key}"]
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise invalid(f"'names_{key}' must be a list of strings")
        if len(names) != count:
            raise invalid(f"'names_{key}' has {len(names)} entries for {count} images")

    domains = data["domains"]
    if (
        not isinstance(domains, list)
        or len(domains) != 2
        or not all(isinstance(name, str) for name in domains)
    ):
        raise invalid(f"'domains' must be a list of two names, got {domains!r}")
    if not isinstance(data["split"], str):
        raise invalid(f"'split' must be a string, got {data['split']!r}")
    return data

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

from sdetranslate.data.images import (
    FolderSelection,
    SourceImage,
    apply_bad_image_policy,
    check_bad_image_policy,
    check_counts,
    decode_image,
    list_split_images,
    select_images,
)
from sdetranslate.data.prepare import validate_split
from sdetranslate.data.records import (
    MANIFEST_COLUMNS,
    REJECTED_COLUMNS,
    manifest_row,
    rejected_row,
    write_records,
)
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


def _split_dir(root: Path, split: str) -> Path:
    split_dir = root / split
    if not split_dir.is_dir():
        raise FileNotFoundError(
            f"split folder {split_dir} not found; check the dataset root and the split name"
        )
    return split_dir


def _index_counterparts(root: Path, folder: str) -> dict[str, Path]:
    """Return the images in `root/folder` keyed by file stem."""
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
    return by_stem


def _select_domain(
    root: Path, split: str, counterpart: str | None, image_size: int, limit: int | None
) -> FolderSelection:
    """Scan `root/split` and convert its first `limit` usable images with their counterparts.

    Each value is (image array, counterpart array or None). The counterpart of an image
    is the file with the same stem in `root/counterpart`. A missing counterpart is an
    error, and a bad one drops its image like a bad image.
    """
    split_dir = _split_dir(root, split)
    counterparts = _index_counterparts(root, counterpart) if counterpart else None

    def convert(image: Image.Image, source: SourceImage):
        array = resize_square(image, image_size)
        if counterparts is None:
            return (array, None), [source]
        path = source.path
        if path.stem not in counterparts:
            raise FileNotFoundError(
                f"counterpart of {path} not found: {root / counterpart} has no image with the "
                f"stem {path.stem!r}; add it or remove {path.name} from {path.parent}"
            )
        counterpart_image, counterpart_source = decode_image(counterparts[path.stem])
        return (array, resize_square(counterpart_image, image_size)), [source, counterpart_source]

    logger.info("Checking the images in %s", split_dir)
    return select_images(split_dir, limit, convert)


def _stack(arrays: list[np.ndarray]) -> torch.Tensor:
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
    on_bad_image: str = "fail",
    manifest_path: str | os.PathLike | None = None,
    rejected_path: str | os.PathLike | None = None,
    role: str = "",
) -> dict:
    """Read `root/split_a` and `root/split_b`, save them at `out_path`, and return the dict.

    Every image file in both folders is decoded. Bad files (corrupt, empty or not an
    image) make the call fail with a list of all of them when `on_bad_image` is "fail",
    and are left out when it is "skip". From each folder, the first `limit` usable files
    in natural order ("2.jpg" before "10.jpg") are used, or all when `limit` is None.
    `counterpart_a` and `counterpart_b` name folders under `root` (for example
    "groundtruth/testA") whose images, matched by file stem, are the other domain's
    renderings of the chosen files. When given, `manifest_path` receives a CSV row per
    file used, counterparts included, and `rejected_path` one per bad file, both labelled
    with `role`. The tensor format is described in this module's docstring.
    """
    root = Path(root)
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
    domains = list(domains)
    if len(domains) != 2 or not all(isinstance(name, str) and name for name in domains):
        raise ValueError(f"domains must be two non-empty names, got {domains!r}")
    check_bad_image_policy(on_bad_image)

    _split_dir(root, split_a)
    _split_dir(root, split_b)
    selection_a = _select_domain(root, split_a, counterpart_a, image_size, limit)
    selection_b = _select_domain(root, split_b, counterpart_b, image_size, limit)
    apply_bad_image_policy([selection_a, selection_b], on_bad_image)
    check_counts(selection_a)
    check_counts(selection_b)

    logger.info(
        "Preparing %d images from %s and %d from %s at %dx%d",
        len(selection_a.values),
        root / split_a,
        len(selection_b.values),
        root / split_b,
        image_size,
        image_size,
    )
    data = {
        "a": _stack([image for image, _ in selection_a.values]),
        "b": _stack([image for image, _ in selection_b.values]),
        "names_a": [sources[0].path.stem for sources in selection_a.sources],
        "names_b": [sources[0].path.stem for sources in selection_b.sources],
        "domains": domains,
        "image_size": image_size,
        "split": f"{split_a}+{split_b}",
    }
    if counterpart_a:
        data["a_counterpart"] = _stack([other for _, other in selection_a.values])
    if counterpart_b:
        data["b_counterpart"] = _stack([other for _, other in selection_b.values])

    parts = (
        (selection_a, split_a, counterpart_a, domains[0], domains[1]),
        (selection_b, split_b, counterpart_b, domains[1], domains[0]),
    )
    if manifest_path is not None:
        rows = []
        for selection, split, counterpart, domain, other_domain in parts:
            for index, sources in enumerate(selection.sources):
                rows.append(manifest_row(role, split, domain, index, sources[0]))
                if counterpart:
                    rows.append(manifest_row(role, counterpart, other_domain, index, sources[1]))
        write_records(rows, MANIFEST_COLUMNS, manifest_path)
    if rejected_path is not None:
        rows = [
            rejected_row(role, split, error)
            for selection, split, *_ in parts
            for error in selection.rejected
        ]
        write_records(rows, REJECTED_COLUMNS, rejected_path)
    save_torch(data, out_path)
    logger.info("Saved %s", out_path)
    return data


def load_unpaired_split(path: str | os.PathLike) -> dict:
    """Load a file written by `prepare_unpaired_split` and check its keys, shapes and dtypes.

    Raises ValueError naming the file and the first problem found.
    """
    return check_unpaired_split(load_torch(path), Path(path))


def check_unpaired_split(data, path: Path) -> dict:
    """Check an unpaired split already loaded from `path`; see `load_unpaired_split`."""
    groups = {"names_a": ["a", "a_counterpart"], "names_b": ["b", "b_counterpart"]}
    return validate_split(data, path, "unpaired", UNPAIRED_SPLIT_KEYS, groups)

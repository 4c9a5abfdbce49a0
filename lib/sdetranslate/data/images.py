"""Decoding of dataset images to RGB, and the selection of the usable images of a folder.

Every file is decoded completely before it is used. A file that cannot be decoded,
or that fails a layout check such as the paired aspect ratio, is a bad image, which
the `on_bad_image` setting either reports as an error (`fail`) or drops (`skip`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Generic, TypeVar

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
BAD_IMAGE_POLICIES = ("fail", "skip")
# Modes with one 16-bit (or, for "I", 32-bit integer) grey channel.
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
# Bad files listed one per line in an error message, before "and N more".
MAX_LISTED_BAD_IMAGES = 50

T = TypeVar("T")


class BadImageError(ValueError):
    """An image file that cannot be used, with the reason."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class SourceImage:
    """A decoded source file: its path, SHA-256 and byte count, and the image's size and mode."""

    path: Path
    sha256: str
    file_bytes: int
    width: int
    height: int
    mode: str


@dataclass
class FolderSelection(Generic[T]):
    """Outcome of scanning one folder: values and source files of the images used, and bad files."""

    folder: Path
    file_count: int
    limit: int | None
    values: list[T] = field(default_factory=list)
    sources: list[list[SourceImage]] = field(default_factory=list)
    rejected: list[BadImageError] = field(default_factory=list)
    usable_count: int = 0


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


def _sixteen_bit_to_rgb(image: Image.Image) -> Image.Image:
    """Scale a 16-bit grey image to 8 bits, rounding v * 255 / 65535, and return it as RGB.

    Pillow's own conversion clips values above 255 to white (Pillow 13.0) instead of scaling.
    """
    values = np.asarray(image).astype(np.int64)
    if values.min() < 0 or values.max() > 65535:
        raise ValueError(
            f"mode {image.mode} pixel values span {values.min()}..{values.max()}, "
            "outside the 16-bit range 0..65535"
        )
    grey = ((values * 255 + 32767) // 65535).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def to_rgb(image: Image.Image) -> Image.Image:
    """Return a decoded image as RGB.

    Transparent images (RGBA, LA, PA, and P, L or RGB with a transparency entry) are
    composited on white. 16-bit grey images are scaled to 8 bits. Other modes (1, L,
    P, CMYK, YCbCr) use Pillow's conversion.
    """
    if image.mode in SIXTEEN_BIT_MODES:
        return _sixteen_bit_to_rgb(image)
    transparent = image.mode in ALPHA_MODES or (
        image.mode in ("P", "L", "RGB") and "transparency" in image.info
    )
    if transparent:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def decode_image(path: Path) -> tuple[Image.Image, SourceImage]:
    """Read and fully decode the image at `path` and return it as RGB with its source record.

    Raises BadImageError with the reason for an empty file, a file that is not an
    image, and a truncated or corrupt one.
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # With this Pillow switch on, a cut-off file decodes without error into a grey tail.
        raise RuntimeError(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True, so truncated images would be "
            "accepted; set it back to False before preparing a dataset"
        )
    data = path.read_bytes()
    if not data:
        raise BadImageError(path, "empty file (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            source = SourceImage(
                path=path,
                sha256=hashlib.sha256(data).hexdigest(),
                file_bytes=len(data),
                width=image.width,
                height=image.height,
                mode=image.mode,
            )
            try:
                return to_rgb(image), source
            except ValueError as error:
                raise BadImageError(path, f"cannot convert to RGB ({error})") from error
    except BadImageError:
        raise
    except UnidentifiedImageError as error:
        raise BadImageError(path, "not an image file that Pillow can read") from error
    except Image.DecompressionBombError as error:
        raise BadImageError(path, f"too many pixels ({error})") from error
    # Pillow reports damaged data with several exception types, depending on the format.
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
        raise BadImageError(path, f"truncated or corrupt image ({error})") from error


def select_images(
    folder: Path,
    limit: int | None,
    convert: Callable[[Image.Image, SourceImage], tuple[T, list[SourceImage]]],
    check: Callable[[SourceImage], str | None] | None = None,
) -> FolderSelection[T]:
    """Decode every image in `folder` and convert the first `limit` usable ones, or all of them.

    Files are taken in natural order. A file is usable when it decodes and `check`,
    if given, returns None for it instead of a reason. `convert` turns a usable image
    into a value and the list of source files behind it, and may raise BadImageError
    for another file it needs, which drops this image. Bad files are collected, not
    raised: pass the selections to `apply_bad_image_policy` and `check_counts`.
    """
    files = list_split_images(folder)
    selection: FolderSelection[T] = FolderSelection(folder, len(files), limit)
    for path in files:
        try:
            image, source = decode_image(path)
            if check is not None and (reason := check(source)) is not None:
                raise BadImageError(path, reason)
            if limit is None or len(selection.values) < limit:
                value, sources = convert(image, source)
                selection.values.append(value)
                selection.sources.append(sources)
            selection.usable_count += 1
        except BadImageError as error:
            selection.rejected.append(error)
            # The counts are logged in full later, so a folder of broken files logs a bounded list.
            if len(selection.rejected) <= MAX_LISTED_BAD_IMAGES:
                logger.warning("Bad image %s", error)
    return selection


def check_bad_image_policy(on_bad_image: str) -> None:
    """Raise ValueError unless `on_bad_image` is one of BAD_IMAGE_POLICIES."""
    if on_bad_image not in BAD_IMAGE_POLICIES:
        raise ValueError(
            f"on_bad_image must be one of {list(BAD_IMAGE_POLICIES)}, got {on_bad_image!r}"
        )


def apply_bad_image_policy(selections: list[FolderSelection], on_bad_image: str) -> None:
    """Raise for bad images when `on_bad_image` is `fail`, and log the counts either way.

    The error lists every bad file with its reason.
    """
    check_bad_image_policy(on_bad_image)
    for selection in selections:
        logger.info(
            "%s: %d image files, %d usable, %d rejected, %d used",
            selection.folder,
            selection.file_count,
            selection.usable_count,
            len(selection.rejected),
            len(selection.values),
        )
    rejected = [error for selection in selections for error in selection.rejected]
    if not rejected:
        return
    if on_bad_image == "skip":
        logger.warning(
            "Skipped %d bad image %s (on_bad_image: skip); the rejected-images CSV lists them",
            len(rejected),
            "file" if len(rejected) == 1 else "files",
        )
        return
    lines = [f"  {error.path}: {error.reason}" for error in rejected[:MAX_LISTED_BAD_IMAGES]]
    if len(rejected) > MAX_LISTED_BAD_IMAGES:
        lines.append(f"  and {len(rejected) - MAX_LISTED_BAD_IMAGES} more")
    folders = ", ".join(str(selection.folder) for selection in selections)
    noun = "file" if len(rejected) == 1 else "files"
    raise ValueError(
        f"{len(rejected)} bad image {noun} in {folders} (on_bad_image: fail):\n"
        + "\n".join(lines)
        + "\nReplace or delete these files, or set on_bad_image: skip for this dataset in "
        "the config to leave them out"
    )


def check_counts(selection: FolderSelection) -> None:
    """Raise ValueError when a folder has no usable image or fewer than its limit.

    The message states the number of usable images and the limit.
    """
    folder = selection.folder
    if selection.file_count == 0:
        raise ValueError(f"{folder} contains no .jpg, .jpeg or .png images")
    counts = f"{selection.file_count} image files, {len(selection.rejected)} rejected"
    if selection.usable_count == 0:
        raise ValueError(f"{folder} has 0 usable images ({counts}); replace the bad files")
    if selection.limit is not None and selection.usable_count < selection.limit:
        raise ValueError(
            f"limit {selection.limit} is larger than the {selection.usable_count} usable images "
            f"in {folder} ({counts}); lower the limit to at most {selection.usable_count}"
        )

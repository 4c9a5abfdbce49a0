"""Atomic file writes and the on-disk formats shared by the pipeline's steps.

Every output is written to a temporary file in the destination folder and
renamed into place, so a killed process never leaves a partial file under the
final name.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import torch


def _current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path` and rename it to `path` when the block succeeds.

    The temporary file is removed when the block raises.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    tmp = Path(tmp_name)
    # mkstemp creates the file owner-only; outputs get the permissions open() would give.
    os.chmod(tmp, 0o666 & ~_current_umask())
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder beside `path`, renamed to `path` when the block succeeds.

    An existing `path` is replaced: it is first renamed aside and deleted only after the new
    folder is in place. When the block raises, the temporary folder is removed and `path`
    is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    # mkdtemp creates the folder owner-only; it gets the permissions mkdir would give.
    os.chmod(staging, 0o777 & ~_current_umask())
    try:
        yield staging
        if path.exists() or path.is_symlink():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            os.replace(path, old / path.name)
            try:
                os.replace(staging, path)
            except BaseException:
                os.replace(old / path.name, path)
                old.rmdir()
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def save_torch(obj, path: str | os.PathLike) -> None:
    """Save `obj` with `torch.save`, atomically."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_torch(path: str | os.PathLike, map_location="cpu"):
    """Load a file written by `save_torch` with `weights_only=True`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; rerun the Snakemake rule that writes it")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several types for corrupt or foreign files
        if isinstance(error, pickle.UnpicklingError):
            # torch's own text here suggests weights_only=False, which would run arbitrary code.
            first_line = "not a file of tensors and plain values written by this pipeline"
        else:
            text = str(error).strip()
            first_line = text.splitlines()[0][:200] if text else "no details"
        raise ValueError(
            f"cannot read {path} ({type(error).__name__}: {first_line}); "
            "delete it and rerun the Snakemake rule that writes it"
        ) from error


def save_dataframe_csv(frame, path: str | os.PathLike) -> None:
    """Write a pandas DataFrame to CSV, atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """Map uint8 images in [0, 255] to floats in [-1, 1], the range the models work in."""
    return images.float() / 127.5 - 1.0


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Map model-range images to uint8, clamping values outside [-1, 1]."""
    return ((images.detach().float().clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8).cpu()

"""CSV records of dataset preparation: the manifest of images used and the list of rejected files.

Each prepared split writes one manifest and one rejected-files CSV, and
`merge_record_files` combines those of a dataset into its per-dataset files.
"""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path

from sdetranslate.data.images import BadImageError, SourceImage
from sdetranslate.io import atomic_path

logger = logging.getLogger(__name__)

# `index` is the image's position in the prepared tensor of its split and domain.
MANIFEST_COLUMNS = (
    "role",
    "split",
    "domain",
    "index",
    "path",
    "sha256",
    "file_bytes",
    "width",
    "height",
    "mode",
)
REJECTED_COLUMNS = ("role", "split", "path", "reason")


def manifest_row(role: str, split: str, domain: str, index: int, source: SourceImage) -> dict:
    return {
        "role": role,
        "split": split,
        "domain": domain,
        "index": index,
        "path": source.path.as_posix(),
        "sha256": source.sha256,
        "file_bytes": source.file_bytes,
        "width": source.width,
        "height": source.height,
        "mode": source.mode,
    }


def rejected_row(role: str, split: str, error: BadImageError) -> dict:
    return {"role": role, "split": split, "path": error.path.as_posix(), "reason": error.reason}


def write_records(rows: list[dict], columns: tuple[str, ...], path: str | os.PathLike) -> None:
    """Write `rows` as a CSV file with a header of `columns`, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)


def read_records(path: str | os.PathLike, columns: tuple[str, ...]) -> list[dict]:
    """Read a CSV file written by `write_records`, checking that its header is `columns`."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        if tuple(reader.fieldnames or ()) != columns:
            raise ValueError(
                f"{path} has the columns {reader.fieldnames}, expected {list(columns)}; "
                "delete it and rerun the Snakemake rule that writes it"
            )
        return list(reader)


def merge_record_files(
    inputs: list[str | os.PathLike], output: str | os.PathLike, columns: tuple[str, ...]
) -> int:
    """Concatenate CSV record files into `output`, keeping the first of identical rows.

    The same split prepared at several image sizes lists the same files, so its rows
    appear once. Returns the number of rows written.
    """
    seen: set[tuple] = set()
    rows = []
    for path in inputs:
        for row in read_records(path, columns):
            key = tuple(row[column] for column in columns)
            if key not in seen:
                seen.add(key)
                rows.append(row)
    write_records(rows, columns, output)
    logger.info("Wrote %d rows from %d files to %s", len(rows), len(inputs), output)
    return len(rows)

"""Scores of translations and baselines: per-image SSIM/PSNR, unpaired scores, summaries.

A score table has one row per translated image with the columns in SCORE_COLUMNS. A
summary table has one row per (experiment, direction, sampler, n_steps) with the
columns in SUMMARY_COLUMNS. `n_steps` is the sampler's NFE budget and `nfe` the
score-network evaluations per image that it spent, 0 for the baselines. SSIM and PSNR
need a ground truth, which paired splits and unpaired splits with counterparts have. An
unpaired score table has one row per sample file with the columns in UNPAIRED_COLUMNS and
needs no ground truth.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch

from sdetranslate.io import load_torch, save_dataframe_csv
from sdetranslate.metrics import psnr, ssim
from sdetranslate.splits import DIRECTIONS, direction_view, load_split
from sdetranslate.unpaired_metrics import mask_iou, stripe_score

logger = logging.getLogger(__name__)

SCORE_COLUMNS = [
    "experiment",
    "method",
    "task",
    "dataset",
    "direction",
    "sampler",
    "n_steps",
    "nfe",
    "image_id",
    "ssim",
    "psnr",
]
SUMMARY_COLUMNS = [
    "experiment",
    "method",
    "direction",
    "sampler",
    "n_steps",
    "nfe",
    "n_images",
    "ssim_mean",
    "ssim_std",
    "psnr_mean",
]
UNPAIRED_COLUMNS = [
    "experiment",
    "method",
    "direction",
    "sampler",
    "n_steps",
    "stripe_score",
    "mask_iou",
    "cycle_error",
]
GROUP_COLUMNS = ["experiment", "direction", "sampler", "n_steps"]
# Columns of the score tables that hold numbers. The counts must be present in every row,
# while a score may be missing (NaN) where it is undefined, such as cycle_error of a method
# without a round trip.
COUNT_COLUMNS = ["n_steps", "nfe"]
SCORE_VALUE_COLUMNS = ["ssim", "psnr", "stripe_score", "mask_iou", "cycle_error"]
# The method is fixed per experiment and the NFE per run, so grouping by them too changes
# no group.
SUMMARY_GROUP_COLUMNS = ["experiment", "method", "direction", "sampler", "n_steps", "nfe"]

# Sampler names of the trivial baselines that `score_baselines` scores with n_steps = 0.
BASELINE_SAMPLERS = ("identity", "mean")
# Sampler name of GAN translations, which take one network evaluation and are stored
# with n_steps = 1.
GAN_SAMPLER = "gan"

SAMPLE_KEYS = ("images", "image_ids", "experiment", "direction", "sampler", "n_steps")


@dataclass
class TranslationSet:
    """Translations from one sample file, matched by image id with their data split images.

    `condition`, `translation` and `target` are uint8 tensors of shape [N, 3, H, W] in the
    order of `image_ids`. `target` is None when the split has no ground truth for the
    direction, which is the case for unpaired splits without counterparts.
    `direction_label` reads like "satellite → map".
    """

    image_ids: list[str]
    condition: torch.Tensor
    translation: torch.Tensor
    target: torch.Tensor | None
    experiment: str
    direction: str
    sampler: str
    n_steps: int
    nfe: int
    domains: list[str]
    source_domain: str
    target_domain: str
    direction_label: str


def check_direction(direction: str, source: str) -> None:
    """Raise ValueError unless `direction` is "AtoB" or "BtoA".

    `source` names where the value came from, for the error message.
    """
    if direction not in DIRECTIONS:
        raise ValueError(
            f"invalid direction {direction!r} in {source}; expected one of "
            f"{', '.join(DIRECTIONS)}"
        )


def load_samples(path: str | os.PathLike) -> dict:
    """Load a sample file of translations and check its keys, image batch and direction."""
    samples = load_torch(path)
    if not isinstance(samples, dict):
        raise ValueError(
            f"{path} is not a sample file: expected a dict, got {type(samples).__name__}"
        )
    missing = [key for key in SAMPLE_KEYS if key not in samples]
    if missing:
        raise ValueError(
            f"sample file {path} is missing the keys {missing}; rerun its sampling rule"
        )
    _check_image_batch(samples["images"], f"images in sample file {path}")
    if len(samples["image_ids"]) != samples["images"].shape[0]:
        raise ValueError(
            f"sample file {path} has {len(samples['image_ids'])} image ids for "
            f"{samples['images'].shape[0]} images; rerun its sampling rule"
        )
    check_direction(samples["direction"], f"sample file {path}")
    return samples


def _check_image_batch(images, description: str) -> None:
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"{description} must be a torch tensor, got {type(images).__name__}")
    if images.dtype != torch.uint8:
        raise ValueError(f"{description} must be uint8, got {images.dtype}")
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"{description} must have shape [N, 3, H, W], got {tuple(images.shape)}")


def _indices_of(
    image_ids: Sequence[str], names: Sequence[str], ids_source: str, split_path
) -> list[int]:
    position = {name: index for index, name in enumerate(names)}
    unknown = [image_id for image_id in image_ids if image_id not in position]
    if unknown:
        listed_ids = ", ".join(repr(image_id) for image_id in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise ValueError(
            f"{len(unknown)} image ids from {ids_source} are not in the data split {split_path}: "
            f"{listed_ids}{more}; check that both files come from the same dataset and split"
        )
    return [position[image_id] for image_id in image_ids]


def load_translation_set(
    samples_path: str | os.PathLike, data_path: str | os.PathLike
) -> TranslationSet:
    """Match the translations in a sample file with their condition and target images by id.

    The data split may be paired or unpaired (see `sdetranslate.splits`). Raises ValueError
    when an image id is not in the data split or the image sizes differ.
    """
    samples = load_samples(samples_path)
    view = direction_view(load_split(data_path), samples["direction"])
    image_ids = [str(image_id) for image_id in samples["image_ids"]]
    indices = _indices_of(image_ids, view.names, f"sample file {samples_path}", data_path)

    translation = samples["images"]
    condition = view.condition[indices]
    if translation.shape[1:] != condition.shape[1:]:
        raise ValueError(
            f"translations in {samples_path} have size {tuple(translation.shape[1:])} but the "
            f"images in {data_path} have size {tuple(condition.shape[1:])}; "
            f"check that the samples were drawn at the split's image size"
        )
    return TranslationSet(
        image_ids=image_ids,
        condition=condition,
        translation=translation,
        target=None if view.target is None else view.target[indices],
        experiment=str(samples["experiment"]),
        direction=samples["direction"],
        sampler=str(samples["sampler"]),
        n_steps=int(samples["n_steps"]),
        # NOTE: sample files without an "nfe" key count as one evaluation per step,
        # which holds for `em`, the only sampler before the key was recorded.
        nfe=int(samples.get("nfe", samples["n_steps"])),
        domains=view.domains,
        source_domain=view.source_domain,
        target_domain=view.target_domain,
        direction_label=view.label,
    )


def _score_rows(
    predictions: Iterable[torch.Tensor],
    targets: torch.Tensor,
    image_ids: Sequence[str],
    labels: dict,
) -> list[dict]:
    rows = []
    for image_id, prediction, target in zip(image_ids, predictions, targets, strict=True):
        rows.append(
            {
                **labels,
                "image_id": image_id,
                "ssim": ssim(prediction, target, layout="chw"),
                "psnr": psnr(prediction, target, layout="chw"),
            }
        )
    return rows


def _rows_to_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    return frame.astype({"n_steps": "int64", "nfe": "int64", "ssim": "float64", "psnr": "float64"})


def _warn_experiment_mismatch(samples_path, recorded: str, experiment: str) -> None:
    if recorded != experiment:
        logger.warning(
            "sample file %s records experiment %r, scoring it as experiment %r",
            samples_path,
            recorded,
            experiment,
        )


def score_translations(
    samples_path: str | os.PathLike,
    eval_data_path: str | os.PathLike,
    experiment: str,
    task: str,
    dataset: str,
    method: str | None = None,
) -> pd.DataFrame:
    """Score each translation in a sample file against its target image in the eval split.

    Returns one row per image with the columns in SCORE_COLUMNS, in the sample file's order.
    `experiment`, `task`, `dataset` and `method` fill their columns; `method` defaults
    to the task. The direction, sampler and
    n_steps come from the sample file. An unpaired eval split without counterparts has no
    target images, and the result is then an empty table.
    """
    translations = load_translation_set(samples_path, eval_data_path)
    _warn_experiment_mismatch(samples_path, translations.experiment, experiment)
    if translations.target is None:
        logger.info(
            "not scoring %s with SSIM/PSNR: the unpaired split %s has no ground truth for %s",
            samples_path,
            eval_data_path,
            translations.direction,
        )
        return _rows_to_frame([])

    labels = {
        "experiment": experiment,
        "method": method or task,
        "task": task,
        "dataset": dataset,
        "direction": translations.direction,
        "sampler": translations.sampler,
        "n_steps": translations.n_steps,
        "nfe": translations.nfe,
    }
    rows = _score_rows(
        translations.translation, translations.target, translations.image_ids, labels
    )
    logger.info(
        "scored %d translations from %s (%s, %s, n_steps=%d)",
        len(rows),
        samples_path,
        translations.direction,
        translations.sampler,
        translations.n_steps,
    )
    return _rows_to_frame(rows)


def mean_target_image(train_data_path: str | os.PathLike, direction: str) -> torch.Tensor:
    """Return the per-pixel mean of the training split's target-domain images as uint8 [3, H, W].

    The mean is rounded to the nearest integer. In an unpaired split it covers every image
    of the target domain, not the counterparts.
    """
    check_direction(direction, "direction argument")
    view = direction_view(load_split(train_data_path), direction)
    targets = view.target_domain_images
    if targets.shape[0] == 0:
        raise ValueError(f"training split {train_data_path} has no images to average")
    return targets.double().mean(dim=0).round().clamp(0, 255).to(torch.uint8)


def score_baselines(
    eval_data_path: str | os.PathLike,
    train_data_path: str | os.PathLike,
    experiment: str,
    task: str,
    dataset: str,
    direction: str,
    image_ids: Sequence[str] | None = None,
    method: str | None = None,
) -> pd.DataFrame:
    """Score the two trivial baselines on the eval split, with n_steps = nfe = 0.

    `method` fills the method column with the method of the experiment that the
    baselines are scored for, and defaults to the task.
    Sampler "identity" uses the condition image itself as the translation. Sampler "mean"
    uses the per-pixel mean of the training split's target-domain images for every eval
    image. `image_ids` restricts scoring to those eval images, in that order; None scores
    all. Returns the identity rows followed by the mean rows, with the columns in
    SCORE_COLUMNS. An unpaired eval split without counterparts has no target images, and
    the result is then an empty table.
    """
    check_direction(direction, "direction argument")
    view = direction_view(load_split(eval_data_path), direction)
    if image_ids is None:
        image_ids = list(view.names)
    else:
        image_ids = [str(image_id) for image_id in image_ids]
    indices = _indices_of(image_ids, view.names, "the image_ids argument", eval_data_path)
    if view.target is None:
        logger.info(
            "not scoring baselines: the unpaired split %s has no ground truth for %s",
            eval_data_path,
            direction,
        )
        return _rows_to_frame([])
    condition = view.condition[indices]
    target = view.target[indices]

    mean_image = mean_target_image(train_data_path, direction)
    if mean_image.shape != view.target.shape[1:]:
        raise ValueError(
            f"training split {train_data_path} has images of size {tuple(mean_image.shape)} but "
            f"eval split {eval_data_path} has {tuple(view.target.shape[1:])}; "
            f"prepare both splits at the same image size"
        )

    labels = {
        "experiment": experiment,
        "method": method or task,
        "task": task,
        "dataset": dataset,
        "direction": direction,
        "n_steps": 0,
        "nfe": 0,
    }
    rows = _score_rows(condition, target, image_ids, {**labels, "sampler": "identity"})
    mean_predictions = (mean_image for _ in image_ids)
    rows += _score_rows(mean_predictions, target, image_ids, {**labels, "sampler": "mean"})
    logger.info(
        "scored baselines %s on %d images of %s (%s)",
        ", ".join(BASELINE_SAMPLERS),
        len(image_ids),
        eval_data_path,
        direction,
    )
    return _rows_to_frame(rows)


def _unpaired_frame(
    condition: torch.Tensor,
    translation: torch.Tensor,
    train_data_path: str | os.PathLike,
    labels: dict,
    round_trip: torch.Tensor | None = None,
) -> pd.DataFrame:
    """Score translations without ground truth and return one row with UNPAIRED_COLUMNS.

    The stripe score uses the training split's domain A images as 0 and its domain B images
    as 1. The mask IoU compares each condition image with its translation. The cycle error
    is the mean absolute difference, on the [0, 1] scale, between each condition image and
    `round_trip`, its translation translated back, and NaN without one.
    """
    train = load_split(train_data_path)
    if train["a"].shape[1:] != translation.shape[1:]:
        raise ValueError(
            f"training split {train_data_path} has images of size {tuple(train['a'].shape[1:])} "
            f"but the translations have size {tuple(translation.shape[1:])}; stripe energy "
            "depends on the image size, so prepare the splits and draw the samples at one size"
        )
    row = {
        **labels,
        "stripe_score": stripe_score(translation, train["a"], train["b"]),
        "mask_iou": float(
            np.mean([mask_iou(source, result) for source, result in zip(condition, translation)])
        ),
        "cycle_error": float("nan"),
    }
    if round_trip is not None:
        if round_trip.shape != condition.shape:
            raise ValueError(
                f"round-trip images have shape {tuple(round_trip.shape)} but the condition images "
                f"{tuple(condition.shape)}; rerun the translation"
            )
        difference = round_trip.double() - condition.double()
        row["cycle_error"] = float(difference.abs().mean() / 255.0)
    frame = pd.DataFrame([row], columns=UNPAIRED_COLUMNS)
    return frame.astype(
        {
            "n_steps": "int64",
            "stripe_score": "float64",
            "mask_iou": "float64",
            "cycle_error": "float64",
        }
    )


def score_unpaired(
    samples_path: str | os.PathLike,
    eval_data_path: str | os.PathLike,
    train_data_path: str | os.PathLike,
    experiment: str,
    method: str = "cycle",
) -> pd.DataFrame:
    """Score a sample file of unpaired translations and return one row with UNPAIRED_COLUMNS.

    `stripe_score` is the mean stripe score of the translations on the scale where the
    training split's domain A images score 0 and its domain B images 1. A good AtoB
    translation therefore scores near 1 and a good BtoA translation near 0. `mask_iou` is the mean
    object-mask IoU between each condition image and its translation, which is near 1 when
    the translation keeps the objects' outlines. See `sdetranslate.unpaired_metrics`.
    `cycle_error` is the mean absolute error of the round trip on the [0, 1] scale when the
    sample file contains the translations translated back as "round_trip" (the bridge's
    files do), and NaN otherwise. `method` fills the method column.
    """
    translations = load_translation_set(samples_path, eval_data_path)
    _warn_experiment_mismatch(samples_path, translations.experiment, experiment)
    if not translations.image_ids:
        raise ValueError(f"sample file {samples_path} contains no images; rerun its sampling rule")
    labels = {
        "experiment": experiment,
        "method": method,
        "direction": translations.direction,
        "sampler": translations.sampler,
        "n_steps": translations.n_steps,
    }
    frame = _unpaired_frame(
        translations.condition,
        translations.translation,
        train_data_path,
        labels,
        round_trip=_round_trip_images(samples_path, translations.image_ids),
    )
    logger.info(
        "scored %d unpaired translations from %s: stripe score %.3f, mask IoU %.3f",
        len(translations.image_ids),
        samples_path,
        frame["stripe_score"].iloc[0],
        frame["mask_iou"].iloc[0],
    )
    return frame


def _round_trip_images(samples_path: str | os.PathLike, image_ids: list[str]) -> torch.Tensor | None:
    """Return the "round_trip" images of a sample file in the order of `image_ids`, or None."""
    samples = load_samples(samples_path)
    if "round_trip" not in samples:
        return None
    round_trip = samples["round_trip"]
    _check_image_batch(round_trip, f"round-trip images in sample file {samples_path}")
    recorded = [str(image_id) for image_id in samples["image_ids"]]
    if recorded != image_ids or round_trip.shape[0] != len(image_ids):
        raise ValueError(
            f"round-trip images in sample file {samples_path} do not match its image ids; "
            "rerun its translation rule"
        )
    return round_trip


def score_unpaired_identity(
    eval_data_path: str | os.PathLike,
    train_data_path: str | os.PathLike,
    experiment: str,
    direction: str,
    method: str = "cycle",
) -> pd.DataFrame:
    """Score the eval split's condition images as their own translations (sampler "identity").

    Returns the row of `score_unpaired` with n_steps 0 and no cycle error. Its mask IoU is 1
    by construction, and its stripe score shows where untranslated images lie on the scale.
    `method` fills the method column.
    """
    check_direction(direction, "direction argument")
    view = direction_view(load_split(eval_data_path), direction)
    if not view.names:
        raise ValueError(
            f"eval split {eval_data_path} has no {view.source_domain} images to score for "
            f"{direction}; prepare it with at least one image per domain"
        )
    labels = {
        "experiment": experiment,
        "method": method,
        "direction": direction,
        "sampler": "identity",
        "n_steps": 0,
    }
    frame = _unpaired_frame(view.condition, view.condition, train_data_path, labels)
    logger.info(
        "scored the identity baseline on %d images of %s (%s): stripe score %.3f",
        len(view.names),
        eval_data_path,
        direction,
        frame["stripe_score"].iloc[0],
    )
    return frame


def _check_columns(frame: pd.DataFrame, expected: Sequence[str], source: str) -> None:
    missing = [column for column in expected if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{source} is missing the columns {missing}; expected the columns "
            f"{', '.join(expected)}"
        )


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Aggregate per-image scores by experiment, method, direction, sampler and n_steps.

    Rows of one group share their `nfe`, since it follows from the sampler and its
    budget, and the summary keeps it as a column. ssim_std is the population standard
    deviation (ddof=0), so a group of one image has ssim_std 0. The result has the
    columns in SUMMARY_COLUMNS, sorted by the group keys.
    """
    _check_columns(frame, SCORE_COLUMNS, "the score table")
    grouped = frame.groupby(SUMMARY_GROUP_COLUMNS, sort=True, dropna=False)
    summary = grouped.agg(
        n_images=("image_id", "size"),
        ssim_mean=("ssim", "mean"),
        ssim_std=("ssim", lambda values: values.std(ddof=0)),
        psnr_mean=("psnr", "mean"),
    ).reset_index()
    summary = summary.sort_values(SUMMARY_GROUP_COLUMNS, kind="stable").reset_index(drop=True)
    return summary[SUMMARY_COLUMNS]


def _read_table(path: str | os.PathLike, columns: Sequence[str], kind: str) -> pd.DataFrame:
    """Read a CSV table written by a rule and return its `columns`, in that order.

    `kind` names the table in error messages, such as "score table".
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{kind} {path} not found; rerun the rule that writes it")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError as error:
        raise ValueError(f"{kind} {path} is empty; rerun the rule that writes it") from error
    _check_columns(frame, columns, f"{kind} {path}")
    frame = frame[list(columns)].copy()
    for column in [name for name in columns if name in COUNT_COLUMNS + SCORE_VALUE_COLUMNS]:
        values = pd.to_numeric(frame[column], errors="coerce")
        invalid = values.isna() & (frame[column].notna() | (column in COUNT_COLUMNS))
        if invalid.any():
            row = int(invalid.to_numpy().argmax())
            raise ValueError(
                f"{kind} {path} has the invalid value {frame[column].iloc[row]!r} in column "
                f"{column!r} on line {row + 2}, where a number is expected; rerun the rule that "
                "writes it"
            )
        frame[column] = values
    return frame


def _raise_on_duplicates(
    frame: pd.DataFrame,
    key: Sequence[str],
    sources: Sequence[str | os.PathLike],
    frames: Sequence[pd.DataFrame],
    meaning: str,
) -> None:
    """Raise ValueError naming the files when two rows of `frame` share the values of `key`.

    `frame` is the concatenation of `frames`, read from `sources` in that order, and
    `meaning` completes "rows ..." in the message, such as "score the same image twice".
    """
    duplicated = frame.duplicated(subset=list(key), keep=False)
    if not duplicated.any():
        return
    row_sources = pd.Series(
        [str(path) for path, part in zip(sources, frames) for _ in range(len(part))]
    )
    first = frame[duplicated].iloc[0]
    files = sorted(set(row_sources[duplicated.to_numpy()]))
    raise ValueError(
        f"{int(duplicated.sum())} rows {meaning}, e.g. {dict(first[list(key)])}, in the files "
        f"{', '.join(files)}; keep one row per {', '.join(key)}"
    )


def write_metrics(
    score_csvs: Sequence[str | os.PathLike],
    ssim_out: str | os.PathLike,
    summary_out: str | os.PathLike,
) -> None:
    """Concatenate per-run score tables into `ssim_out` and write their summary to `summary_out`.

    Raises ValueError naming the file when a table lacks a column of SCORE_COLUMNS, and
    when the same image is scored twice for one (experiment, direction, sampler, n_steps).
    """
    if not score_csvs:
        raise ValueError("write_metrics needs at least one score table, got none")
    frames = [_read_table(path, SCORE_COLUMNS, "score table") for path in score_csvs]
    scores = pd.concat(frames, ignore_index=True)
    _raise_on_duplicates(
        scores, [*GROUP_COLUMNS, "image_id"], score_csvs, frames, "score the same image twice"
    )

    summary = summarize(scores)
    save_dataframe_csv(scores, ssim_out)
    save_dataframe_csv(summary, summary_out)
    logger.info(
        "wrote %d scores from %d tables to %s and %d summary rows to %s",
        len(scores),
        len(frames),
        ssim_out,
        len(summary),
        summary_out,
    )


def write_unpaired_scores(
    csvs: Sequence[str | os.PathLike], out_path: str | os.PathLike
) -> pd.DataFrame:
    """Concatenate unpaired score tables into `out_path` and return the result.

    Rows are sorted by experiment, direction, sampler and n_steps. Raises ValueError naming
    the file when a table lacks a column of UNPAIRED_COLUMNS, and when two rows share the
    same experiment, direction, sampler and n_steps.
    """
    if not csvs:
        raise ValueError("write_unpaired_scores needs at least one score table, got none")
    frames = [_read_table(path, UNPAIRED_COLUMNS, "unpaired score table") for path in csvs]
    scores = pd.concat(frames, ignore_index=True)
    _raise_on_duplicates(scores, GROUP_COLUMNS, csvs, frames, "score the same sample file twice")
    scores = scores.sort_values(GROUP_COLUMNS, kind="stable").reset_index(drop=True)
    save_dataframe_csv(scores, out_path)
    logger.info("wrote %d unpaired scores from %d tables to %s", len(scores), len(frames), out_path)
    return scores


def score_experiment(
    samples_paths: Sequence[str | os.PathLike],
    eval_data_path: str | os.PathLike,
    train_data_path: str | os.PathLike,
    *,
    experiment: str,
    task: str,
    dataset: str,
    method: str,
    directions: Sequence[str],
    out_path: str | os.PathLike,
) -> pd.DataFrame:
    """Score every sample file of an experiment and the identity and mean baselines of each direction,
    and write the rows, in SCORE_COLUMNS, to `out_path`.

    One table per experiment keeps the workflow at one scoring job per experiment
    instead of one per run. Splits without ground truth give an empty table.
    """
    settings = dict(experiment=experiment, task=task, dataset=dataset, method=method)
    frames = [score_translations(path, eval_data_path, **settings) for path in samples_paths]
    frames += [
        score_baselines(eval_data_path, train_data_path, direction=direction, **settings)
        for direction in directions
    ]
    scores = pd.concat([frame for frame in frames if not frame.empty] or [_rows_to_frame([])], ignore_index=True)
    save_dataframe_csv(scores[SCORE_COLUMNS], out_path)
    logger.info("scored %d sample files and %d baselines of %s", len(samples_paths), len(directions), experiment)
    return scores


def score_unpaired_experiment(
    samples_paths: Sequence[str | os.PathLike],
    eval_data_path: str | os.PathLike,
    train_data_path: str | os.PathLike,
    *,
    experiment: str,
    method: str,
    directions: Sequence[str],
    out_path: str | os.PathLike,
) -> pd.DataFrame:
    """Compute the stripe score and mask IoU of every sample file of an unpaired experiment and of
    the untranslated inputs of each direction, and write the rows, in UNPAIRED_COLUMNS, to `out_path`."""
    frames = [
        score_unpaired(path, eval_data_path, train_data_path, experiment=experiment, method=method)
        for path in samples_paths
    ]
    frames += [
        score_unpaired_identity(
            eval_data_path, train_data_path, experiment=experiment, direction=direction, method=method
        )
        for direction in directions
    ]
    scores = pd.concat(frames, ignore_index=True)[UNPAIRED_COLUMNS]
    save_dataframe_csv(scores, out_path)
    logger.info("scored %d unpaired sample files of %s", len(samples_paths), experiment)
    return scores

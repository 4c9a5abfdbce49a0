"""Figures of translations, SSIM against sampler steps and NFE, unpaired scores and training loss.

Each function writes one PNG at 150 dpi and the same figure as a PDF beside it, atomically. Lines differ in marker and line
style as well as colour, so the figures stay readable in grayscale.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from sdetranslate.evaluation import (  # noqa: E402
    BASELINE_SAMPLERS,
    GAN_SAMPLER,
    SUMMARY_COLUMNS,
    TranslationSet,
    load_samples,
    load_translation_set,
)
from sdetranslate.io import atomic_directory, atomic_path  # noqa: E402

logger = logging.getLogger(__name__)

DPI = 150
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINE_STYLES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2))]
# Baselines are gray, dashed for "identity" and dotted for "mean". Each further line of the
# same baseline gets the next pattern.
BASELINE_STYLES = {
    "identity": ["--", (0, (8, 3)), (0, (3, 1, 1, 1))],
    "mean": [":", (0, (1, 3)), (0, (1, 1, 4, 1))],
}
BASELINE_GRAYS = ["0.2", "0.5"]
# Per-model loss columns: the direction models of paired and cycle-consistent training, and
# the per-domain models of the bridge and SDEdit.
LOSS_MODEL_STYLES = {"loss_AtoB": "--", "loss_BtoA": ":", "loss_A": "--", "loss_B": ":"}
LOSS_COLUMNS = ["step", "loss"]
# Inches per image cell in the image grids.
CELL_INCHES = 1.6
# Text of an image cell whose entry has no ground truth, such as an unpaired split without
# counterparts.
MISSING_TARGET_TEXT = "no ground truth"


def pdf_path(out_path: str | os.PathLike) -> Path:
    """Return the path of the PDF written beside the PNG `out_path`."""
    return Path(out_path).with_suffix(".pdf")


def _save_figure(figure, out_path: str | os.PathLike) -> None:
    """Write `figure` as a PNG at `out_path` and as a PDF beside it, each atomically."""
    try:
        with atomic_path(out_path) as tmp:
            figure.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
        with atomic_path(pdf_path(out_path)) as tmp:
            figure.savefig(tmp, format="pdf", dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(figure)
    logger.info("wrote %s and %s", out_path, pdf_path(out_path).name)


def _check_image_count(n_images: int) -> None:
    if n_images < 1:
        raise ValueError(f"n_images must be at least 1, got {n_images}")


def _show_image(axis, image: torch.Tensor) -> None:
    """Draw a uint8 [3, H, W] image, upscaled with nearest-neighbour interpolation."""
    axis.imshow(image.permute(1, 2, 0).numpy(), interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([])


def _show_blank(axis, text: str) -> None:
    """Leave an image cell empty except for `text` in its centre."""
    axis.set_xticks([])
    axis.set_yticks([])
    for spine in axis.spines.values():
        spine.set_visible(False)
    axis.text(
        0.5,
        0.5,
        text,
        transform=axis.transAxes,
        horizontalalignment="center",
        verticalalignment="center",
        fontsize="small",
        color="0.4",
    )


@dataclass
class _RowGroup:
    """Consecutive rows of an image grid that show the first images of one sample file.

    `columns` contains one uint8 batch [N, 3, H, W] per grid column, in the order of
    `image_ids`, or None for a column the entry has no images for. `blank_texts`
    gives the text of each None column, MISSING_TARGET_TEXT by default.
    """

    label: str
    image_ids: list[str]
    columns: list[torch.Tensor | None]
    blank_texts: list[str] | None = None


def _load_entry(
    entry: Mapping, index: int, required: Sequence[str], n_images: int
) -> tuple[TranslationSet, str, int]:
    """Load the sample file of a figure entry and return it with its row label and row count.

    Without a "label" the row label reads like "satellite → map (N=1500)".
    """
    missing = [key for key in required if key not in entry]
    if missing:
        raise ValueError(f"entry {index} ({entry!r}) is missing the keys {missing}")
    translations = load_translation_set(entry["samples_path"], entry["data_path"])
    count = min(n_images, len(translations.image_ids))
    if count == 0:
        raise ValueError(f"sample file {entry['samples_path']} contains no images")
    label = entry.get("label") or f"{translations.direction_label} (N={translations.n_steps})"
    return translations, label, count


def _draw_row_grid(
    groups: Sequence[_RowGroup],
    titles: Sequence[str],
    out_path: str | os.PathLike,
    blank_text: str = MISSING_TARGET_TEXT,
) -> None:
    """Draw one row per image of each group and one column per title, and save the figure.

    A None column of a group leaves its cells blank except for `blank_text`.
    """
    n_rows = sum(len(group.image_ids) for group in groups)
    n_columns = len(titles)
    figure, axes = plt.subplots(
        n_rows,
        n_columns,
        figsize=(n_columns * CELL_INCHES + 2.5, n_rows * CELL_INCHES),
        squeeze=False,
    )
    for column, title in enumerate(titles):
        axes[0, column].set_title(title)

    row = 0
    for group in groups:
        for index, image_id in enumerate(group.image_ids):
            for column, images in enumerate(group.columns):
                if images is None:
                    text = group.blank_texts[column] if group.blank_texts else blank_text
                    _show_blank(axes[row, column], text)
                else:
                    _show_image(axes[row, column], images[index])
            axes[row, 0].set_ylabel(
                f"{group.label}\nimage {image_id}",
                fontsize="small",
                rotation=0,
                horizontalalignment="right",
                verticalalignment="center",
            )
            row += 1
    figure.tight_layout()
    _save_figure(figure, out_path)


def label_figure_entries(
    entries: Sequence[Mapping], direction_labels: Mapping[str, str]
) -> list[dict]:
    """Add a row label such as "experiment / satellite → map / N = 1500" to each figure entry.

    Each entry has "experiment", "direction" and "n_steps"; `direction_labels`
    is keyed by "experiment/direction".
    """
    labelled = []
    for entry in entries:
        direction = direction_labels[f"{entry['experiment']}/{entry['direction']}"]
        label = f"{entry['experiment']}\n{direction}\nN = {entry['n_steps']}"
        labelled.append({**entry, "label": label})
    return labelled


def _baseline_labels(entries: Sequence[Mapping]) -> list[str]:
    """Return the labels of the baseline columns of figure entries, in order of first appearance."""
    labels: list[str] = []
    for entry in entries:
        for baseline in entry.get("baselines") or []:
            if baseline["label"] not in labels:
                labels.append(baseline["label"])
    return labels


def _baseline_columns(
    entry: Mapping, translations: TranslationSet, labels: Sequence[str]
) -> list[torch.Tensor | None]:
    """Return one uint8 batch per baseline label, in the order of the entry's image ids.

    A baseline is another method's sample file of the same evaluation split, such
    as a GAN's. A label the entry has no baseline for gives None.
    """
    by_label = {baseline["label"]: baseline for baseline in entry.get("baselines") or []}
    columns: list[torch.Tensor | None] = []
    for label in labels:
        if label not in by_label:
            columns.append(None)
            continue
        path = by_label[label]["samples_path"]
        baseline = load_translation_set(path, entry["data_path"])
        if baseline.direction != translations.direction:
            raise ValueError(
                f"baseline sample file {path} has direction {baseline.direction} but "
                f"{entry['samples_path']} has {translations.direction}; pass the same direction"
            )
        position = {image_id: index for index, image_id in enumerate(baseline.image_ids)}
        missing = [image_id for image_id in translations.image_ids if image_id not in position]
        if missing:
            raise ValueError(
                f"baseline sample file {path} lacks the images {missing[:5]} of "
                f"{entry['samples_path']}; translate the same evaluation split with both"
            )
        indices = [position[image_id] for image_id in translations.image_ids]
        columns.append(baseline.translation[indices])
    return columns


def plot_paired_translations(
    entries: Sequence[Mapping], out_path: str | os.PathLike, n_images: int = 3
) -> None:
    """Plot input | baselines | translation | ground truth for the first `n_images` images of each entry.

    Each entry is a dict with "samples_path" and "data_path", and optionally "label", the
    row label, and "baselines", a list of {"label", "samples_path"} of other methods'
    translations of the same split (such as pix2pix), each shown in a column of its
    label before the translation, which is then titled "ours". Without a label the row
    reads like "satellite → map (N=1500)". The data split may be unpaired: the ground
    truth column is left out when no entry has a ground truth, and an entry without one
    gets blank cells there.
    """
    _check_image_count(n_images)
    if not entries:
        raise ValueError("plot_paired_translations needs at least one entry, got none")

    loaded = [
        _load_entry(entry, index, ("samples_path", "data_path"), n_images)
        for index, entry in enumerate(entries)
    ]
    with_target = any(translations.target is not None for translations, _, _ in loaded)
    baseline_labels = _baseline_labels(entries)
    titles = ["input (condition)", *baseline_labels, "ours" if baseline_labels else "translation"]
    if with_target:
        titles.append("ground truth")
    blank_texts = [MISSING_TARGET_TEXT] * len(titles)
    blank_texts[1 : 1 + len(baseline_labels)] = [f"no {label} run" for label in baseline_labels]

    groups = []
    for entry, (translations, label, count) in zip(entries, loaded):
        columns = [
            translations.condition,
            *_baseline_columns(entry, translations, baseline_labels),
            translations.translation,
        ]
        if with_target:
            columns.append(translations.target)
        groups.append(_RowGroup(label, translations.image_ids[:count], columns, blank_texts))
    _draw_row_grid(groups, titles, out_path)


def _select_images(
    translations: TranslationSet, image_ids: Sequence[str], samples_path
) -> torch.Tensor:
    """Return the translations of `image_ids` from a loaded sample file, in that order."""
    position = {image_id: index for index, image_id in enumerate(translations.image_ids)}
    missing = [image_id for image_id in image_ids if image_id not in position]
    if missing:
        raise ValueError(
            f"sample file {samples_path} has no translations of the images {missing}; "
            "sample the same evaluation split for every run of the figure"
        )
    return translations.translation[[position[image_id] for image_id in image_ids]]


def plot_sampler_comparison(
    entries: Sequence[Mapping], out_path: str | os.PathLike, n_images: int = 3
) -> None:
    """Plot input | one translation per sampling run | ground truth for the same images.

    Each entry is a dict with "label", "data_path" and "samples_paths", the sample
    files of one experiment and direction. Its rows show the first `n_images` images
    of the first sample file and every file's translations of them. Column titles
    such as "dpm_solver, NFE 9" come from the sample files, so all entries must list
    runs of the same samplers and budgets in the same order. The ground truth column
    is left out when no entry has a ground truth.
    """
    _check_image_count(n_images)
    if not entries:
        raise ValueError("plot_sampler_comparison needs at least one entry, got none")

    run_titles = None
    loaded = []
    for index, entry in enumerate(entries):
        missing = [key for key in ("label", "data_path", "samples_paths") if key not in entry]
        if missing:
            raise ValueError(f"entry {index} ({entry!r}) is missing the keys {missing}")
        if not entry["samples_paths"]:
            raise ValueError(f"entry {index} ({entry['label']!r}) lists no sample files")
        runs = [load_translation_set(path, entry["data_path"]) for path in entry["samples_paths"]]
        titles = [f"{run.sampler}, NFE {run.nfe}" for run in runs]
        keys = [(run.sampler, run.n_steps) for run in runs]
        if run_titles is None:
            run_titles, first_keys = titles, keys
        elif keys != first_keys:
            raise ValueError(
                f"entry {index} ({entry['label']!r}) has the runs {keys}, but entry 0 has "
                f"{first_keys}; list the same samplers and budgets for every entry"
            )
        loaded.append((entry, runs))

    with_target = any(runs[0].target is not None for _, runs in loaded)
    column_titles = ["input (condition)", *run_titles]
    if with_target:
        column_titles.append("ground truth")

    groups = []
    for entry, runs in loaded:
        first = runs[0]
        image_ids = first.image_ids[:n_images]
        if not image_ids:
            raise ValueError(f"sample file {entry['samples_paths'][0]} contains no images")
        columns = [first.condition[: len(image_ids)]]
        for run, path in zip(runs, entry["samples_paths"]):
            columns.append(_select_images(run, image_ids, path))
        if with_target:
            columns.append(None if first.target is None else first.target[: len(image_ids)])
        groups.append(_RowGroup(entry["label"], list(image_ids), columns))
    _draw_row_grid(groups, column_titles, out_path)


def _load_reconstruction(
    reconstruction_path: str | os.PathLike,
    samples_path: str | os.PathLike,
    translations: TranslationSet,
) -> torch.Tensor:
    """Return the images of a reconstruction file after checking that it matches the samples.

    The reconstruction must come from the opposite direction's model, with the same image
    ids in the same order and the same image size as the translations.
    """
    reconstruction = load_samples(reconstruction_path)
    if reconstruction["direction"] == translations.direction:
        raise ValueError(
            f"reconstruction file {reconstruction_path} has direction "
            f"{reconstruction['direction']}, the same as sample file {samples_path}; "
            "pass the file that translated the samples back with the opposite model"
        )
    image_ids = [str(image_id) for image_id in reconstruction["image_ids"]]
    if image_ids != translations.image_ids:
        raise ValueError(
            f"reconstruction file {reconstruction_path} has other image ids than sample file "
            f"{samples_path} (first ids {image_ids[:3]} and {translations.image_ids[:3]}); "
            "reconstruct that sample file again"
        )
    images = reconstruction["images"]
    if images.shape[1:] != translations.translation.shape[1:]:
        raise ValueError(
            f"reconstruction file {reconstruction_path} has images of size "
            f"{tuple(images.shape[1:])} but sample file {samples_path} has "
            f"{tuple(translations.translation.shape[1:])}; reconstruct that sample file again"
        )
    return images


def plot_unpaired_translations(
    entries: Sequence[Mapping], out_path: str | os.PathLike, n_images: int = 3
) -> None:
    """Plot input | baselines | translation | reconstruction for the first `n_images` images of each entry.

    Each entry is a dict with "samples_path", "reconstruction_path" and "data_path", and
    optionally "label", the row label, and "baselines" as in `plot_paired_translations`
    (such as CycleGAN), shown before the translation. The reconstruction file contains
    the translations translated back by the opposite direction's model. A last column
    shows the counterpart (ground truth) when the data split of every entry has
    counterparts.
    """
    _check_image_count(n_images)
    if not entries:
        raise ValueError("plot_unpaired_translations needs at least one entry, got none")

    required = ("samples_path", "reconstruction_path", "data_path")
    loaded = []
    for index, entry in enumerate(entries):
        translations, label, count = _load_entry(entry, index, required, n_images)
        reconstruction = _load_reconstruction(
            entry["reconstruction_path"], entry["samples_path"], translations
        )
        loaded.append((translations, reconstruction, label, count))
    with_target = all(translations.target is not None for translations, *_ in loaded)
    baseline_labels = _baseline_labels(entries)
    titles = [
        "input",
        *baseline_labels,
        "ours" if baseline_labels else "translation",
        "reconstruction",
    ]
    if with_target:
        titles.append("counterpart (ground truth)")
    blank_texts = [MISSING_TARGET_TEXT] * len(titles)
    blank_texts[1 : 1 + len(baseline_labels)] = [f"no {label} run" for label in baseline_labels]

    groups = []
    for entry, (translations, reconstruction, label, count) in zip(entries, loaded):
        columns = [
            translations.condition,
            *_baseline_columns(entry, translations, baseline_labels),
            translations.translation,
            reconstruction,
        ]
        if with_target:
            columns.append(translations.target)
        groups.append(_RowGroup(label, translations.image_ids[:count], columns, blank_texts))
    _draw_row_grid(groups, titles, out_path)


def _direction_text(direction: str, direction_labels: Mapping[str, str] | None) -> str:
    if direction_labels and direction in direction_labels:
        return direction_labels[direction]
    return direction


def _read_summary(summary_csv: str | os.PathLike) -> pd.DataFrame:
    path = Path(summary_csv)
    if not path.is_file():
        raise FileNotFoundError(f"summary table {path} not found; rerun the metrics rule")
    try:
        summary = pd.read_csv(path)
    except pd.errors.EmptyDataError as error:
        raise ValueError(f"summary table {path} is empty; rerun the metrics rule") from error
    missing = [column for column in SUMMARY_COLUMNS if column not in summary.columns]
    if missing:
        raise ValueError(
            f"summary table {path} is missing the columns {missing}; "
            f"expected {', '.join(SUMMARY_COLUMNS)}"
        )
    return summary


def plot_ssim_vs_steps(
    summary_csv: str | os.PathLike,
    out_path: str | os.PathLike,
    direction_labels: Mapping[str, str] | None = None,
) -> None:
    """Plot mean SSIM (± std) against the budget n_steps, with the baselines as horizontal lines.

    Draws one line per (experiment, direction, sampler) for every sampler except the
    baselines "identity" and "mean" and the GAN sampler "gan". Each baseline gets one
    horizontal line per direction, or one per experiment and direction when the
    experiments' values differ. Each GAN experiment and direction gets a horizontal line
    at its SSIM, because a GAN translates in one network evaluation whatever N is.
    `direction_labels` maps "AtoB"/"BtoA" to legend text such as "satellite → map".
    """
    _plot_ssim_curves(
        summary_csv, out_path, "n_steps", "budget N: EM steps, NFE otherwise (log scale)", direction_labels
    )


def plot_ssim_vs_nfe(
    summary_csv: str | os.PathLike,
    out_path: str | os.PathLike,
    direction_labels: Mapping[str, str] | None = None,
) -> None:
    """Plot mean SSIM (± std) against the network evaluations (NFE) each sampler spent.

    The lines and baselines are those of `plot_ssim_vs_steps`, so samplers of
    different cost per step share one x axis.
    """
    _plot_ssim_curves(
        summary_csv,
        out_path,
        "nfe",
        "score-network evaluations (NFE) per image (log scale)",
        direction_labels,
    )


def _plot_ssim_curves(
    summary_csv: str | os.PathLike,
    out_path: str | os.PathLike,
    x_column: str,
    x_label: str,
    direction_labels: Mapping[str, str] | None,
) -> None:
    summary = _read_summary(summary_csv)
    is_baseline = summary["sampler"].isin(BASELINE_SAMPLERS)
    is_gan = summary["sampler"] == GAN_SAMPLER
    models = summary[~is_baseline & ~is_gan]
    not_positive = models[x_column] <= 0
    if not_positive.any():
        logger.warning(
            "skipping %d rows of %s with %s <= 0, which a log axis cannot show",
            int(not_positive.sum()),
            summary_csv,
            x_column,
        )
        models = models[~not_positive]
    if models.empty and not is_gan.any():
        raise ValueError(
            f"summary table {summary_csv} has no rows for a sampler other than the baselines "
            f"{', '.join(BASELINE_SAMPLERS)}; score at least one sample file first"
        )

    # One panel per translation, such as "satellite → map", so that each panel contains one
    # dataset's baselines and its lines stay apart.
    def panel_of(frame: pd.DataFrame) -> pd.Series:
        keys = frame["experiment"] + "/" + frame["direction"]
        return keys.map(lambda key: (direction_labels or {}).get(key, key.split("/")[1]))

    summary = summary.assign(panel=panel_of(summary))
    models = models.assign(panel=panel_of(models))
    panels = sorted(set(models["panel"]) | set(summary[is_gan]["panel"]))
    columns = min(2, len(panels))
    rows = -(-len(panels) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(7.5 * columns, 4.5 * rows), squeeze=False)
    several_samplers = models["sampler"].nunique() > 1
    for axis, panel in zip(axes.flat, panels):
        _draw_ssim_panel(
            axis,
            models[models["panel"] == panel],
            summary[is_gan & (summary["panel"] == panel)],
            summary[is_baseline & (summary["panel"] == panel)],
            x_column,
            several_samplers,
            direction_labels,
        )
        axis.set_title(panel, fontsize="medium")
        axis.set_xlabel(x_label)
    for axis in list(axes.flat)[len(panels) :]:
        axis.set_visible(False)
    figure.tight_layout()
    _save_figure(figure, out_path)


def _draw_ssim_panel(
    axis,
    models: pd.DataFrame,
    gans: pd.DataFrame,
    baselines: pd.DataFrame,
    x_column: str,
    several_samplers: bool,
    direction_labels: Mapping[str, str] | None,
) -> None:
    """Draw one panel of the SSIM figures: a line per experiment and sampler, flat GAN lines and baselines."""
    line_groups = models.groupby(["experiment", "direction", "sampler"], sort=True)
    for index, ((experiment, direction, sampler), group) in enumerate(line_groups):
        group = group.sort_values(x_column)
        label = f"{experiment}, {_direction_text(direction, direction_labels)}"
        if several_samplers:
            label += f", {sampler}"
        axis.errorbar(
            group[x_column],
            group["ssim_mean"],
            yerr=group["ssim_std"],
            marker=MARKERS[index % len(MARKERS)],
            linestyle=LINE_STYLES[index % len(LINE_STYLES)],
            capsize=3,
            label=label,
        )

    gan_groups = gans.groupby(["experiment", "direction"], sort=True)
    for offset, ((experiment, direction), group) in enumerate(gan_groups):
        index = line_groups.ngroups + offset
        axis.axhline(
            group["ssim_mean"].iloc[0],
            color=f"C{index % 10}",
            linestyle=LINE_STYLES[index % len(LINE_STYLES)],
            linewidth=1.8,
            label=f"{experiment}, {_direction_text(direction, direction_labels)} (GAN, 1 evaluation)",
        )

    _draw_baselines(axis, baselines, direction_labels)

    if models.empty:
        axis.set_xlim(1, 10)
    axis.set_xscale("log")
    axis.set_ylabel("SSIM, mean ± std over images")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize="x-small", loc="best")


def _draw_baselines(
    axis, baselines: pd.DataFrame, direction_labels: Mapping[str, str] | None
) -> None:
    used = {sampler: 0 for sampler in BASELINE_SAMPLERS}
    for (direction, sampler), group in baselines.groupby(["direction", "sampler"], sort=True):
        direction_text = _direction_text(direction, direction_labels)
        # Experiments on the same dataset share baseline values, and one line then stands
        # for all of them.
        if group["ssim_mean"].round(9).nunique() == 1:
            lines = [(f"{sampler} baseline, {direction_text}", group["ssim_mean"].iloc[0])]
        else:
            lines = [
                (f"{sampler} baseline, {experiment}, {direction_text}", row["ssim_mean"])
                for experiment, row in group.set_index("experiment").iterrows()
            ]
        for label, value in lines:
            styles = BASELINE_STYLES[sampler]
            count = used[sampler]
            axis.axhline(
                value,
                color=BASELINE_GRAYS[count % len(BASELINE_GRAYS)],
                linestyle=styles[count % len(styles)],
                linewidth=1.5,
                label=label,
            )
            used[sampler] = count + 1


def _read_loss_csv(path: str | os.PathLike) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"loss log {path} not found; rerun the training rule")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError as error:
        raise ValueError(f"loss log {path} is empty; rerun the training rule") from error
    missing = [column for column in LOSS_COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(
            f"loss log {path} is missing the columns {missing}; expected {', '.join(LOSS_COLUMNS)}"
        )
    if frame.empty:
        raise ValueError(f"loss log {path} has no rows; rerun the training rule")
    not_positive = int((frame["loss"] <= 0).sum())
    if not_positive:
        logger.warning(
            "%d losses in %s are <= 0 and do not show on the log axis", not_positive, path
        )
    return frame.sort_values("step")


def _smooth(values: pd.Series) -> pd.Series:
    """Return a trailing rolling mean over about 5% of the points, at most 50."""
    window = max(1, min(50, len(values) // 20))
    return values.rolling(window, min_periods=1).mean()


def plot_training_loss(
    loss_csvs: Mapping[str, str | os.PathLike],
    out_path: str | os.PathLike,
    direction_labels: Mapping[str, str] | None = None,
) -> None:
    """Plot training loss against step, one panel per experiment, on log-scaled y axes.

    The raw total loss is drawn faint with its rolling mean on top. The per-model losses
    are drawn as thinner smoothed lines, dashed for AtoB or domain A and dotted for BtoA or
    domain B. `loss_csvs` maps an experiment name to its loss log. Per-model columns that
    are missing or all empty are left out.
    """
    if not loss_csvs:
        raise ValueError("plot_training_loss needs at least one loss log, got none")

    # One panel per experiment: runs differ in length and in which terms their total sums.
    figure, axes = plt.subplots(len(loss_csvs), 1, figsize=(7, 3.2 * len(loss_csvs)), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (experiment, path) in enumerate(loss_csvs.items()):
        axis = axes[index, 0]
        frame = _read_loss_csv(path)
        color = colors[index % len(colors)]
        steps = frame["step"]
        axis.plot(steps, frame["loss"], color=color, linewidth=0.6, alpha=0.3)
        axis.plot(
            steps,
            _smooth(frame["loss"]),
            color=color,
            linewidth=2.0,
            marker=MARKERS[index % len(MARKERS)],
            markevery=max(1, len(frame) // 8),
            label="total",
        )
        for column, style in LOSS_MODEL_STYLES.items():
            if column not in frame.columns or frame[column].isna().all():
                continue
            model = column.removeprefix("loss_")
            if model in ("A", "B"):
                label = f"domain {model}"
            else:
                label = _direction_text(model, direction_labels)
            axis.plot(
                steps,
                _smooth(frame[column]),
                color=color,
                linewidth=1.0,
                linestyle=style,
                label=label,
            )
        axis.set_title(experiment, fontsize="medium")
        axis.set_yscale("log")
        axis.set_xlabel("training step")
        axis.set_ylabel("loss (log scale)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize="small")
    figure.tight_layout()
    _save_figure(figure, out_path)


def plot_sample_grid(
    samples_path: str | os.PathLike,
    data_path: str | os.PathLike,
    out_path: str | os.PathLike,
    n_images: int = 8,
) -> None:
    """Plot up to `n_images` images as rows of condition, translation and ground truth.

    The ground truth row is left out when the data split has none, as for an unpaired
    split without counterparts.
    """
    _check_image_count(n_images)
    translations = load_translation_set(samples_path, data_path)
    count = min(n_images, len(translations.image_ids))
    if count == 0:
        raise ValueError(f"sample file {samples_path} contains no images")

    row_labels = [f"condition\n({translations.source_domain})", "translation"]
    rows = [translations.condition, translations.translation]
    if translations.target is not None:
        row_labels.append(f"ground truth\n({translations.target_domain})")
        rows.append(translations.target)
    n_rows = len(rows)
    figure, axes = plt.subplots(
        n_rows,
        count,
        figsize=(count * CELL_INCHES + 1.0, n_rows * CELL_INCHES + 0.6),
        squeeze=False,
    )
    for row, (label, images) in enumerate(zip(row_labels, rows)):
        axes[row, 0].set_ylabel(label)
        for column in range(count):
            _show_image(axes[row, column], images[column])
    for column in range(count):
        axes[0, column].set_title(translations.image_ids[column], fontsize="x-small")
    figure.suptitle(
        f"{translations.experiment}: {translations.direction_label}, "
        f"sampler {translations.sampler}, N={translations.n_steps}"
    )
    figure.tight_layout()
    _save_figure(figure, out_path)


# Text of an image cell of the comparison figure for a method that the configuration does not
# run on that dataset.
NOT_RUN_TEXT = "not run"


def plot_unpaired_comparison(
    groups: Sequence[Mapping],
    titles: Sequence[str],
    out_path: str | os.PathLike,
    n_images: int = 3,
) -> None:
    """Plot input | one translation per method | counterpart for the first `n_images` images.

    Each group is a dict with "label" (the row label), "data_path" and "samples_paths",
    one sample file per entry of `titles` or None where that method was not run. All sample
    files of a group must translate the same images in the same direction. The counterpart
    (ground truth) column is shown when every group's data split has counterparts.
    """
    _check_image_count(n_images)
    if not groups:
        raise ValueError("plot_unpaired_comparison needs at least one group, got none")
    loaded = []
    for index, group in enumerate(groups):
        if len(group["samples_paths"]) != len(titles):
            raise ValueError(
                f"group {index} ({group['label']!r}) has {len(group['samples_paths'])} sample "
                f"files for {len(titles)} column titles; give one per title, None where not run"
            )
        runs = [
            None if path is None else load_translation_set(path, group["data_path"])
            for path in group["samples_paths"]
        ]
        present = [run for run in runs if run is not None]
        if not present:
            raise ValueError(f"group {index} ({group['label']!r}) has no sample file")
        first = present[0]
        for run, path in zip(runs, group["samples_paths"]):
            if run is not None and (run.image_ids, run.direction) != (first.image_ids, first.direction):
                raise ValueError(
                    f"sample file {path} translates other images or another direction than the "
                    f"other files of group {index} ({group['label']!r}); rerun its translation"
                )
        loaded.append((group["label"], first, runs))

    with_target = all(first.target is not None for _, first, _ in loaded)
    column_titles = ["input", *titles]
    if with_target:
        # Two lines, because the titles are wider than the image cells.
        column_titles.append("counterpart\n(ground truth)")
    row_groups = []
    for label, first, runs in loaded:
        count = min(n_images, len(first.image_ids))
        columns = [first.condition]
        columns += [None if run is None else run.translation for run in runs]
        if with_target:
            columns.append(first.target)
        row_groups.append(_RowGroup(label, first.image_ids[:count], columns))
    _draw_row_grid(row_groups, column_titles, out_path, blank_text=NOT_RUN_TEXT)


UNPAIRED_SCORE_COLUMNS = ["experiment", "method", "direction", "sampler", "n_steps", "stripe_score", "mask_iou"]
# Stripe score of the target domain of each direction: the training zebras score 1, the horses 0.
TARGET_STRIPE_SCORE = {"AtoB": 1.0, "BtoA": 0.0}


def setting_label(sampler: str, n_steps: int) -> str:
    """Return the text of one run's setting, such as "t0 = 0.5", "NFE = 80" or "em N = 1500"."""
    if sampler.startswith("sdedit_t"):
        return f"t0 = {int(sampler.removeprefix('sdedit_t')) / 100:g}"
    if sampler == "bridge":
        return f"NFE = {n_steps}"
    if sampler == "identity":
        return "input"
    return f"{sampler} N = {n_steps}"


# Setting labels of the trade-off plot start right of their point, so a point closer than
# this to an annotated one (mask IoU, stripe score) goes without a label.
LABEL_SPACING = (0.1, 0.05)


def plot_unpaired_tradeoff(
    scores_csv: str | os.PathLike,
    out_path: str | os.PathLike,
    direction_labels: Mapping[str, str] | None = None,
) -> None:
    """Plot stripe score against mask IoU, one point per experiment and setting, one panel per direction.

    The stripe score measures how much a translation looks like the target domain, and the
    mask IoU how much of the input's layout it keeps. Good translations therefore lie near
    the target domain's stripe score (a dashed line) at a mask IoU near 1. Each point is
    annotated with its setting (`setting_label`), except a point within LABEL_SPACING of
    one already annotated, whose label would overlap. The untranslated inputs
    (sampler "identity") are drawn once per distinct value as black crosses.
    """
    path = Path(scores_csv)
    if not path.is_file():
        raise FileNotFoundError(f"unpaired score table {path} not found; rerun collect_unpaired_scores")
    scores = pd.read_csv(path)
    missing = [column for column in UNPAIRED_SCORE_COLUMNS if column not in scores.columns]
    if missing:
        raise ValueError(f"unpaired score table {path} is missing the columns {missing}")
    if scores.empty:
        raise ValueError(f"unpaired score table {path} has no rows; rerun collect_unpaired_scores")

    directions = [direction for direction in TARGET_STRIPE_SCORE if direction in set(scores["direction"])]
    figure, axes = plt.subplots(1, len(directions), figsize=(6.2 * len(directions), 4.8), squeeze=False)
    experiments = list(dict.fromkeys(scores.loc[scores["sampler"] != "identity", "experiment"]))
    for axis, direction in zip(axes[0], directions):
        rows = scores[scores["direction"] == direction]
        labelled: list[tuple[float, float]] = []
        for index, experiment in enumerate(experiments):
            runs = rows[(rows["experiment"] == experiment) & (rows["sampler"] != "identity")]
            if runs.empty:
                continue
            axis.plot(
                runs["mask_iou"],
                runs["stripe_score"],
                linestyle="none",
                marker=MARKERS[index % len(MARKERS)],
                markersize=8,
                label=f"{runs['method'].iloc[0]} ({experiment})",
            )
            for _, run in runs.iterrows():
                point = (float(run["mask_iou"]), float(run["stripe_score"]))
                if any(
                    abs(point[0] - x) < LABEL_SPACING[0] and abs(point[1] - y) < LABEL_SPACING[1]
                    for x, y in labelled
                ):
                    continue
                labelled.append(point)
                axis.annotate(
                    setting_label(run["sampler"], int(run["n_steps"])),
                    point,
                    textcoords="offset points",
                    xytext=(5, 4),
                    fontsize="x-small",
                )
        identity = rows[rows["sampler"] == "identity"].round({"stripe_score": 9, "mask_iou": 9})
        identity = identity.drop_duplicates(["stripe_score", "mask_iou"])
        axis.plot(
            identity["mask_iou"],
            identity["stripe_score"],
            linestyle="none",
            marker="x",
            color="black",
            markersize=9,
            label="input (identity)",
        )
        axis.axhline(
            TARGET_STRIPE_SCORE[direction],
            color="0.4",
            linestyle="--",
            linewidth=1.2,
            label="target domain's stripe score",
        )
        axis.set_title(_direction_text(direction, direction_labels))
        axis.set_xlabel("mask IoU of input and translation (faithfulness)")
        axis.set_ylabel("stripe score (0 = domain A, 1 = domain B)")
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize="x-small")
    figure.tight_layout()
    _save_figure(figure, out_path)


def plot_sample_grids(
    grids: Sequence[tuple[str | os.PathLike, str]],
    data_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    n_images: int = 8,
) -> None:
    """Write the sample grid of each (sample file, PNG file name) pair into the folder `out_dir`.

    Each grid is drawn by `plot_sample_grid`, with its PDF beside it. The folder
    appears complete or not at all.
    """
    if not grids:
        raise ValueError("plot_sample_grids needs at least one sample file, got none")
    with atomic_directory(out_dir) as tmp:
        for samples_path, name in grids:
            plot_sample_grid(samples_path, data_path, Path(tmp) / name, n_images=n_images)

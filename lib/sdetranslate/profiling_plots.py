"""Figures of the profiling tables: sampling time against N, and peak memory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sdetranslate.plotting import LINE_STYLES, MARKERS, _save_figure  # noqa: E402
from sdetranslate.profiling import MEMORY_COLUMNS, TIME_COLUMNS  # noqa: E402

# Bar fills that differ in lightness and hatch, so grouped bars stay apart in grayscale.
BAR_STYLES = [
    {"color": "0.25", "hatch": ""},
    {"color": "0.85", "hatch": "//"},
    {"color": "0.55", "hatch": ".."},
    {"color": "1.0", "hatch": "xx"},
]
MIB = 2**20


def read_profile_table(path: str | os.PathLike, columns: Sequence[str], numeric: Sequence[str]) -> pd.DataFrame:
    """Read a profiling CSV and check that it has `columns`, at least one row, and no missing numbers."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"profiling table {path} not found; rerun its profiling rule")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError as error:
        raise ValueError(f"profiling table {path} is empty; rerun its profiling rule") from error
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"profiling table {path} is missing the columns {missing}; expected {', '.join(columns)}")
    if frame.empty:
        raise ValueError(f"profiling table {path} has no rows; rerun its profiling rule")
    bad = frame[list(numeric)].apply(pd.to_numeric, errors="coerce").isna().any(axis=1)
    if bad.any():
        rows = ", ".join(str(index + 2) for index in frame.index[bad][:5])
        raise ValueError(
            f"profiling table {path} has missing or non-numeric values in {', '.join(numeric)} "
            f"(lines {rows}); rerun its profiling rule"
        )
    return frame


def plot_sampling_time(time_csv: str | os.PathLike, out_path: str | os.PathLike) -> None:
    """Plot the median sampling time of one batch against N, one line per image size, with min-max bars.

    Dotted lines of the same marker show N times the bare UNet forward, so the gap
    between the two is the sampler's own overhead. Rows without a UNet forward
    time are GAN generators, drawn as single points at N = 1.
    """
    frame = read_profile_table(
        time_csv, TIME_COLUMNS, ["image_size", "n_steps", "seconds_median", "seconds_min", "seconds_max"]
    )
    if frame["unet_forward_seconds_median"].isna().all():
        raise ValueError(f"profiling table {time_csv} has no sampler rows; rerun its profiling rule")
    sampler_rows = frame[frame["unet_forward_seconds_median"].notna()]
    gan_rows = frame[frame["unet_forward_seconds_median"].isna()]
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    colors = plt.get_cmap("cividis")(np.linspace(0.0, 0.85, frame["image_size"].nunique()))
    color_of = dict(zip(sorted(frame["image_size"].unique()), colors))
    for index, (image_size, group) in enumerate(sampler_rows.groupby("image_size", sort=True)):
        group = group.sort_values("n_steps")
        median = group["seconds_median"]
        axis.errorbar(
            group["n_steps"],
            median,
            yerr=[median - group["seconds_min"], group["seconds_max"] - median],
            color=color_of[image_size],
            marker=MARKERS[index % len(MARKERS)],
            linestyle=LINE_STYLES[index % len(LINE_STYLES)],
            capsize=3,
            label=f"{image_size}×{image_size}, batch {int(group['batch_size'].iloc[0])}",
        )
        axis.plot(
            group["n_steps"],
            group["n_steps"] * group["unet_forward_seconds_median"],
            color=color_of[image_size],
            marker=MARKERS[index % len(MARKERS)],
            markerfacecolor="none",
            linestyle=":",
            linewidth=1.0,
            label=f"{image_size}×{image_size}, N × UNet forward",
        )
    # A GAN generator translates in one network evaluation: one point per model and size at N = 1.
    for index, ((model, image_size), group) in enumerate(gan_rows.groupby(["model", "image_size"], sort=True)):
        axis.plot(
            [1],
            [group["seconds_median"].iloc[0]],
            color=color_of[image_size],
            marker=MARKERS[(index + 3) % len(MARKERS)],
            linestyle="none",
            markersize=8,
            label=f"{model} generator, {image_size}×{image_size}",
        )
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("sampler steps N (log scale)")
    axis.set_ylabel("time per batch (s, log scale)")
    axis.set_title(f"Euler–Maruyama sampling on {frame['device'].iloc[0]}", fontsize="small")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize="small", loc="upper left")
    _save_figure(figure, out_path)


def _grouped_bars(axis, frame: pd.DataFrame, series: Sequence[tuple[str, pd.Series]]) -> None:
    """Draw one group of bars per (image size, N) row of `frame`, one bar per entry of `series`."""
    keys = frame[["image_size", "n_steps"]].drop_duplicates().sort_values(["image_size", "n_steps"])
    positions = np.arange(len(keys))
    width = 0.8 / len(series)
    for index, (label, selector) in enumerate(series):
        heights = []
        for _, key in keys.iterrows():
            match = frame[selector & (frame["image_size"] == key["image_size"]) & (frame["n_steps"] == key["n_steps"])]
            heights.append(match["peak_bytes"].max() / MIB if not match.empty else np.nan)
        style = BAR_STYLES[index % len(BAR_STYLES)]
        axis.bar(
            positions + (index - (len(series) - 1) / 2) * width,
            heights,
            width,
            color=style["color"],
            hatch=style["hatch"],
            edgecolor="black",
            label=label,
        )
    axis.set_xticks(positions, [f"{row.image_size}px\nN={row.n_steps}" for row in keys.itertuples()])
    axis.set_ylabel("peak memory (MiB)")
    axis.grid(True, axis="y", alpha=0.3)
    axis.legend(fontsize="small")


def plot_memory(memory_csv: str | os.PathLike, out_path: str | os.PathLike) -> None:
    """Plot peak memory as grouped bars: sampling with gradient tracking off and on, and one unpaired
    training step with and without gradient checkpointing, per image size and N.
    """
    frame = read_profile_table(memory_csv, MEMORY_COLUMNS, ["image_size", "n_steps", "peak_bytes"])
    workloads = set(frame["workload"])
    unknown = workloads - {"sampling", "unpaired_training_step"}
    if unknown:
        raise ValueError(f"memory table {memory_csv} has unknown workloads {sorted(unknown)}")
    panels = [name for name in ("sampling", "unpaired_training_step") if name in workloads]
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
    for axis, workload in zip(axes[0], panels):
        rows = frame[frame["workload"] == workload]
        grad = rows["grad_tracking"].astype(str).str.lower() == "true"
        checkpointing = rows["gradient_checkpointing"].astype(str).str.lower() == "true"
        if workload == "sampling":
            _grouped_bars(
                axis, rows, [("gradient tracking off", ~grad), ("gradient tracking on", grad & ~checkpointing)]
            )
            axis.set_title("Sampling one batch", fontsize="medium")
        else:
            _grouped_bars(
                axis,
                rows,
                [("without checkpointing", ~checkpointing), ("with gradient checkpointing", checkpointing)],
            )
            axis.set_title("One unpaired training step", fontsize="medium")
    method = frame["method"].iloc[0]
    figure.suptitle(f"{frame['device'].iloc[0]}; {method.replace('_', ' ')}", fontsize="small")
    figure.tight_layout()
    _save_figure(figure, out_path)

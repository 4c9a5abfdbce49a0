"""Profiling: timers, memory measurement, the profiling tables and their figures."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import torch

from sdetranslate.profiling import (
    MEMORY_COLUMNS,
    TIME_COLUMNS,
    ProfileModel,
    call_in_fresh_process,
    cpu_peak_rss_supported,
    measure_peak_bytes,
    profile_memory,
    profile_sampling_time,
    time_call,
)
from sdetranslate.profiling_plots import plot_memory, plot_sampling_time

SDE = {"beta_min": 0.1, "beta_max": 20.0, "eps": 1e-3}
TINY = ProfileModel(preset="tiny", sde=SDE)
CPU = torch.device("cpu")
MIB = 2**20


def test_time_call_counts_repeats_and_warmup():
    calls = []
    seconds = time_call(lambda: calls.append(1), CPU, repeats=3, warmup=2)
    assert len(seconds) == 3
    assert len(calls) == 5
    assert all(value >= 0 for value in seconds)


def test_time_call_rejects_zero_repeats():
    with pytest.raises(ValueError, match="repeats"):
        time_call(lambda: None, CPU, repeats=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_timer_waits_for_asynchronous_work():
    device = torch.device("cuda")
    a = torch.randn(8192, 8192, device=device)
    torch.cuda.synchronize()
    launch_started = __import__("time").perf_counter()
    a @ a  # returns once queued
    launch = __import__("time").perf_counter() - launch_started
    torch.cuda.synchronize()
    timed = time_call(lambda: [a @ a for _ in range(20)], device, repeats=1)[0]
    assert timed > 10 * launch


@pytest.mark.skipif(not cpu_peak_rss_supported(), reason="needs Linux /proc memory accounting")
def test_cpu_peak_memory_covers_a_known_allocation():
    size = 96 * MIB

    def allocate():
        block = torch.ones(size // 4, dtype=torch.float32)  # ones() writes every page
        return float(block[-1])

    peak = measure_peak_bytes(allocate, CPU, warmup=lambda: None)
    # Pages that the process frees while the block is written may lower the count a little.
    assert peak >= 0.95 * size, f"reported {peak} bytes for an allocation of {size}"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_peak_memory_covers_a_known_allocation():
    device = torch.device("cuda")
    size = 64 * MIB
    peak = measure_peak_bytes(lambda: torch.empty(size, dtype=torch.uint8, device=device), device)
    assert peak >= size


def test_fresh_process_call_result_and_error():
    assert call_in_fresh_process(math.factorial, 5) == 120
    with pytest.raises(RuntimeError, match="ValueError"):
        call_in_fresh_process(math.factorial, -1)


def test_profile_sampling_time_writes_the_table(tmp_path):
    out = tmp_path / "sampling_time.csv"
    frame = profile_sampling_time(
        model=TINY,
        image_sizes=[16],
        n_steps=[2, 4],
        batch_size=2,
        repeats=2,
        sampler="em",
        device=CPU,
        out_path=out,
        gan_generators={"p2p": {"architecture": "unet", "base_channels": 8, "dropout": 0.5}},
    )
    written = pd.read_csv(out)
    assert list(written.columns) == TIME_COLUMNS
    assert list(written["n_steps"]) == [2, 4, 1]
    assert list(written["model"]) == ["em", "em", "p2p"]
    frame = frame[frame["model"] == "em"]
    assert (frame["seconds_min"] <= frame["seconds_median"]).all()
    assert (frame["seconds_median"] <= frame["seconds_max"]).all()
    assert (frame["unet_forward_seconds_median"] > 0).all()


@pytest.mark.skipif(not cpu_peak_rss_supported(), reason="needs Linux /proc memory accounting")
def test_profile_memory_orders_the_settings(tmp_path):
    out = tmp_path / "memory.csv"
    frame = profile_memory(model=TINY, image_sizes=[16], n_steps=[8], batch_size=4, device=CPU, out_path=out)
    assert list(pd.read_csv(out).columns) == MEMORY_COLUMNS
    assert len(frame) == 4
    peaks = {
        (row.workload, row.grad_tracking, row.gradient_checkpointing): row.peak_bytes
        for row in frame.itertuples()
    }
    # Tracking gradients keeps every step's activations. Checkpointing is not compared:
    # at this size allocator arenas outweigh the activations it saves.
    assert peaks[("sampling", True, False)] > peaks[("sampling", False, False)]
    assert all(peak > 0 for (workload, _, _), peak in peaks.items() if workload != "sampling")
    assert set(frame["method"]) == {"cpu_fresh_process_peak_rss_minus_warm_rss"}


def time_table() -> pd.DataFrame:
    rows = []
    for image_size, scale in ((16, 1.0), (32, 3.0)):
        for n_steps in (10, 50):
            rows.append(
                {
                    "device": "test CPU",
                    "image_size": image_size,
                    "n_steps": n_steps,
                    "batch_size": 4,
                    "repeats": 3,
                    "seconds_median": 0.01 * n_steps * scale,
                    "seconds_min": 0.009 * n_steps * scale,
                    "seconds_max": 0.012 * n_steps * scale,
                    "unet_forward_seconds_median": 0.009 * scale,
                    "model": "em",
                    "seconds_per_image_median": 0.01 * n_steps * scale / 4,
                }
            )
    rows.append(dict(rows[0], n_steps=1, unet_forward_seconds_median=float("nan"), model="pix2pix"))
    return pd.DataFrame(rows, columns=TIME_COLUMNS)


def memory_table() -> pd.DataFrame:
    rows = []
    for n_steps in (10, 50):
        for grad in (False, True):
            rows.append(["test CPU", "sampling", 32, n_steps, grad, False, (1 + 40 * grad) * n_steps * MIB, "m"])
        for checkpointing in (False, True):
            rows.append(
                ["test CPU", "unpaired_training_step", 32, n_steps, True, checkpointing, (300 - 200 * checkpointing) * MIB, "m"]
            )
    return pd.DataFrame(rows, columns=MEMORY_COLUMNS)


@pytest.mark.parametrize(
    ("plot", "table"), [(plot_sampling_time, time_table), (plot_memory, memory_table)]
)
def test_profile_plots_write_png_and_pdf(tmp_path, plot, table):
    csv = tmp_path / "table.csv"
    table().to_csv(csv, index=False)
    out = tmp_path / "figure.png"
    plot(csv, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "figure.pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize(
    ("plot", "table"), [(plot_sampling_time, time_table), (plot_memory, memory_table)]
)
def test_profile_plots_reject_empty_and_nan_tables(tmp_path, plot, table):
    out = tmp_path / "figure.png"
    empty = tmp_path / "empty.csv"
    table().iloc[0:0].to_csv(empty, index=False)
    with pytest.raises(ValueError, match="no rows"):
        plot(empty, out)
    blank = tmp_path / "blank.csv"
    blank.write_text("")
    with pytest.raises(ValueError, match="is empty"):
        plot(blank, out)
    nan = tmp_path / "nan.csv"
    frame = table()
    column = "seconds_median" if "seconds_median" in frame else "peak_bytes"
    frame.loc[1, column] = float("nan")
    frame.to_csv(nan, index=False)
    with pytest.raises(ValueError, match="missing or non-numeric"):
        plot(nan, out)
    assert not out.exists()


def test_profile_plots_name_a_missing_table(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        plot_sampling_time(tmp_path / "missing.csv", tmp_path / "figure.png")


def test_profiling_child_rejects_bad_input(tmp_path):
    # The child reads a pickled call on stdin; anything else is an error, not a hang.
    result = subprocess.run(
        [__import__("sys").executable, "-m", "sdetranslate.profiling"],
        input=b"not a pickle",
        capture_output=True,
        timeout=120,
        cwd=Path(tmp_path),
    )
    assert result.returncode != 0

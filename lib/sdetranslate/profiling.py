"""Time and memory profiling of sampling and of the unpaired training step.

Timing: each measurement runs once to warm up, then `repeats` times, and the
table keeps the median, minimum and maximum. On CUDA the timer synchronizes
the device before reading the clock, so queued kernels count.

Memory: on CUDA the peak statistics are reset before each measurement, and the
peak is `torch.cuda.max_memory_allocated` minus the memory allocated before it
(the model weights and inputs). On the CPU each measurement runs in a fresh
process: after a warm-up run it reads its resident set size, resets the
kernel's high-water mark, runs the workload again and reports the new
high-water mark minus that resident size. The `method` column of the table
names which of the two was used.
"""

from __future__ import annotations

import gc
import importlib
import logging
import pickle
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd
import torch
from tqdm import tqdm

from sdetranslate.io import save_dataframe_csv
from sdetranslate.sampling import GlobalNoise, get_sampler
from sdetranslate.score import NoisePredictor, get_score_fn
from sdetranslate.sde import VPSDE
from sdetranslate.unet import ConditionalUNet, unet_config_from_preset
from sdetranslate.unpaired import UnpairedConfig, unpaired_losses

logger = logging.getLogger(__name__)

TIME_COLUMNS = [
    "device",
    "image_size",
    "n_steps",
    "batch_size",
    "repeats",
    "seconds_median",
    "seconds_min",
    "seconds_max",
    "unet_forward_seconds_median",
    "model",
    "seconds_per_image_median",
]
MEMORY_COLUMNS = [
    "device",
    "workload",
    "image_size",
    "n_steps",
    "grad_tracking",
    "gradient_checkpointing",
    "peak_bytes",
    "method",
]
CPU_MEMORY_METHOD = "cpu_fresh_process_peak_rss_minus_warm_rss"
CUDA_MEMORY_METHOD = "cuda_max_memory_allocated_minus_baseline"


def device_name(device: torch.device) -> str:
    """Describe a device for result tables: the GPU model, or the CPU model and core count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    return f"{cpu_model()} ({threads} thread{'' if threads == 1 else 's'})"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], device: torch.device, repeats: int, warmup: int = 1) -> list[float]:
    """Return the wall time in seconds of `repeats` calls of `fn`, after `warmup` untimed calls.

    The device is synchronized before the clock starts and before it stops, so
    asynchronous CUDA work launched by `fn` is part of the measured time.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    for _ in range(warmup):
        fn()
    synchronize(device)
    seconds = []
    for _ in range(repeats):
        synchronize(device)
        started = time.perf_counter()
        fn()
        synchronize(device)
        seconds.append(time.perf_counter() - started)
    return seconds


@dataclass(frozen=True)
class ProfileModel:
    """The network profiled: a UNet preset and the SDE it is wrapped with."""

    preset: str
    sde: dict
    sigma_data: float | None = 0.5

    def build(self, image_size: int, device: torch.device, seed: int = 0) -> tuple[NoisePredictor, VPSDE]:
        sde = VPSDE(self.sde["beta_min"], self.sde["beta_max"])
        torch.manual_seed(seed)
        network = ConditionalUNet(unet_config_from_preset(self.preset, image_size, dropout=0.0))
        return NoisePredictor(network, sde, self.sigma_data).to(device).eval(), sde


def _random_batch(batch_size: int, image_size: int, device: torch.device, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch_size, 3, image_size, image_size, generator=generator).clamp(-1, 1).to(device)


def profile_sampling_time(
    *,
    model: ProfileModel,
    image_sizes: Sequence[int],
    n_steps: Sequence[int],
    batch_size: int,
    repeats: int,
    sampler: str,
    device: torch.device,
    out_path: str | Path,
    gan_generators: dict[str, dict] | None = None,
) -> pd.DataFrame:
    """Time one translation batch for each image size and N, and the bare UNet forward on the same inputs.

    `gan_generators` maps a GAN baseline's name to its generator (`architecture`
    "unet" or "resnet" and the constructor's settings without image_size). Each
    is timed on the same batches, as one row per image size with n_steps 1,
    because a generator translates in one network evaluation. The weights are
    random: the cost of a forward pass does not depend on them. Writes a CSV
    with the columns of `TIME_COLUMNS`; `model` is the sampler or GAN name.
    """
    spec = get_sampler(sampler)
    device_label = device_name(device)
    rows = []
    for image_size in image_sizes:
        net, sde = model.build(image_size, device)
        score_fn = get_score_fn(sde, net)
        cond = _random_batch(batch_size, image_size, device, seed=1)
        x = _random_batch(batch_size, image_size, device, seed=2)
        t = torch.full((batch_size,), 0.5, device=device)
        with torch.inference_mode():
            forward = time_call(lambda: net(x, cond, t), device, repeats=max(repeats, 5))
            forward_median = statistics.median(forward)
            for steps in tqdm(n_steps, desc=f"timing {image_size}px", file=sys.stderr):
                seconds = time_call(
                    lambda: spec.fn(score_fn, sde, cond, steps, float(model.sde["eps"]), GlobalNoise(batch_size)),
                    device,
                    repeats=repeats,
                )
                logger.info(
                    "%dpx N=%d: median %.4f s over %d repeats (NFE x forward = %.4f s)",
                    image_size,
                    steps,
                    statistics.median(seconds),
                    repeats,
                    spec.nfe(steps) * forward_median,
                )
                rows.append(
                    {
                        "device": device_label,
                        "image_size": int(image_size),
                        "n_steps": int(steps),
                        "batch_size": int(batch_size),
                        "repeats": int(repeats),
                        "seconds_median": statistics.median(seconds),
                        "seconds_min": min(seconds),
                        "seconds_max": max(seconds),
                        "unet_forward_seconds_median": forward_median,
                        "model": sampler,
                        "seconds_per_image_median": statistics.median(seconds) / batch_size,
                    }
                )
            for name, settings in (gan_generators or {}).items():
                generator = _build_gan_generator(settings, image_size).to(device).eval()
                seconds = time_call(lambda: generator(cond), device, repeats=repeats)
                rows.append(
                    {
                        "device": device_label,
                        "image_size": int(image_size),
                        "n_steps": 1,
                        "batch_size": int(batch_size),
                        "repeats": int(repeats),
                        "seconds_median": statistics.median(seconds),
                        "seconds_min": min(seconds),
                        "seconds_max": max(seconds),
                        "unet_forward_seconds_median": float("nan"),
                        "model": name,
                        "seconds_per_image_median": statistics.median(seconds) / batch_size,
                    }
                )
        del net, score_fn
    frame = pd.DataFrame(rows, columns=TIME_COLUMNS)
    save_dataframe_csv(frame, out_path)
    return frame


def _build_gan_generator(settings: dict, image_size: int) -> torch.nn.Module:
    from sdetranslate.gan import build_generator

    settings = dict(settings)
    architecture = settings.pop("architecture")
    if architecture == "unet":
        settings["image_size"] = image_size
    return build_generator(architecture, settings)


# --- memory ---------------------------------------------------------------


def _status_bytes(field: str) -> int:
    """Read a memory field (VmRSS, VmHWM) of this process from /proc/self/status, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field} field")


def _reset_peak_rss() -> None:
    # Writing 5 to clear_refs resets the kernel's high-water mark to the current RSS.
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def cpu_peak_rss_supported() -> bool:
    try:
        _status_bytes("VmHWM")
        _reset_peak_rss()
    except (OSError, RuntimeError):
        return False
    return True


def measure_peak_bytes(
    workload: Callable[[], object], device: torch.device, warmup: Callable[[], object] | None = None
) -> int:
    """Return the peak memory of one run of `workload` above the memory held just before it.

    `warmup` (by default `workload` itself) runs first, so that lazily loaded
    kernels and libraries are not counted. On CUDA the peak is that of the
    caching allocator. On the CPU it is the kernel's high-water mark of the
    resident set, which counts every byte the process touched. It is therefore
    only meaningful in a process that does nothing else, after a warm-up that
    touches less memory than the workload, because allocators keep freed memory
    resident. `profile_memory` runs each workload in a fresh process after a
    single network forward.
    """
    (warmup or workload)()
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        baseline = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        workload()
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device) - baseline)
    baseline = _status_bytes("VmRSS")
    _reset_peak_rss()
    workload()
    return int(max(0, _status_bytes("VmHWM") - baseline))


@dataclass(frozen=True)
class MemoryCase:
    """One memory measurement: sampling, or one unpaired training step."""

    workload: str  # "sampling" or "unpaired_training_step"
    image_size: int
    n_steps: int
    grad_tracking: bool
    gradient_checkpointing: bool


def memory_cases(image_sizes: Sequence[int], n_steps: Sequence[int]) -> list[MemoryCase]:
    cases = []
    for image_size in image_sizes:
        for steps in n_steps:
            for grad in (False, True):
                cases.append(MemoryCase("sampling", image_size, steps, grad, False))
            for checkpointing in (False, True):
                cases.append(MemoryCase("unpaired_training_step", image_size, steps, True, checkpointing))
    return cases


def _case_workload(case: MemoryCase, model: ProfileModel, batch_size: int, device: torch.device):
    """Return the workload of a case and its warm-up, one network forward without gradients."""
    eps = float(model.sde["eps"])
    if case.workload == "sampling":
        net, sde = model.build(case.image_size, device)
        net.requires_grad_(case.grad_tracking)
        score_fn = get_score_fn(sde, net)
        cond = _random_batch(batch_size, case.image_size, device, seed=1)
        sampler = get_sampler("em").fn

        def run():
            with torch.set_grad_enabled(case.grad_tracking):
                sampler(
                    score_fn,
                    sde,
                    cond,
                    case.n_steps,
                    eps,
                    GlobalNoise(batch_size),
                    checkpoint_steps=case.gradient_checkpointing,
                )

        return run, _forward_once(net, cond)
    if case.workload == "unpaired_training_step":
        models = {}
        for index, direction in enumerate(("AtoB", "BtoA")):
            models[direction], sde = model.build(case.image_size, device, seed=index)
            models[direction].train()
        config = UnpairedConfig(
            train_sampler_steps=case.n_steps, gradient_checkpointing=case.gradient_checkpointing
        )
        x0 = _random_batch(batch_size, case.image_size, device, seed=1)
        y0 = _random_batch(batch_size, case.image_size, device, seed=2)

        def run():
            for net in models.values():
                net.zero_grad(set_to_none=True)
            unpaired_losses(models, sde, x0, y0, config, eps)["loss"].backward()

        return run, _forward_once(models["AtoB"], x0)
    raise ValueError(f"unknown memory workload {case.workload!r}")


def _forward_once(net: NoisePredictor, batch: torch.Tensor) -> Callable[[], None]:
    def forward():
        with torch.no_grad():
            net(batch, batch, torch.full((batch.shape[0],), 0.5, device=batch.device))

    return forward


def measure_case(case: MemoryCase, model: ProfileModel, batch_size: int, device_type: str, threads: int) -> int:
    """Measure one case in the current process and return its peak bytes."""
    torch.set_num_threads(threads)
    device = torch.device(device_type)
    workload, warmup = _case_workload(case, model, batch_size, device)
    return measure_peak_bytes(workload, device, warmup=warmup)


def call_in_fresh_process(function: Callable, *args):
    """Return `function(*args)` computed in a newly started Python interpreter.

    `function` must be importable by name from a module. The call and its
    result travel between the processes as pickles. The child runs
    `python -m sdetranslate.profiling`, so it never re-runs the caller's script.
    """
    request = pickle.dumps((function.__module__, function.__qualname__, args))
    result = subprocess.run(
        [sys.executable, "-m", "sdetranslate.profiling"], input=request, capture_output=True, check=False
    )
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(
            f"{function.__qualname__}{args} failed in its process (exit code {result.returncode}): "
            f"{detail[-1] if detail else 'no error output'}"
        )
    return pickle.loads(result.stdout)


def _serve_one_call() -> None:
    """Read a pickled (module, name, args) call from stdin, run it and pickle its result to stdout."""
    module_name, name, args = pickle.loads(sys.stdin.buffer.read())
    function = importlib.import_module(module_name)
    for part in name.split("."):
        function = getattr(function, part)
    value = function(*args)
    sys.stdout.buffer.write(pickle.dumps(value))
    sys.stdout.buffer.flush()


def profile_memory(
    *,
    model: ProfileModel,
    image_sizes: Sequence[int],
    n_steps: Sequence[int],
    batch_size: int,
    device: torch.device,
    out_path: str | Path,
) -> pd.DataFrame:
    """Measure peak memory of sampling (gradient tracking off and on) and of one unpaired training step
    (gradient checkpointing off and on) for each image size and N. Writes `MEMORY_COLUMNS` as CSV.
    """
    if device.type == "cpu" and not cpu_peak_rss_supported():
        raise RuntimeError(
            "CPU memory profiling needs Linux's /proc/self/status and /proc/self/clear_refs; "
            "run it on Linux or on a CUDA device"
        )
    name = device_name(device)
    method = CUDA_MEMORY_METHOD if device.type == "cuda" else CPU_MEMORY_METHOD
    threads = torch.get_num_threads()
    rows = []
    for case in tqdm(memory_cases(image_sizes, n_steps), desc="memory", file=sys.stderr):
        if device.type == "cuda":
            peak = measure_case(case, model, batch_size, device.type, threads)
        else:
            peak = call_in_fresh_process(measure_case, case, model, batch_size, "cpu", threads)
        logger.info("%s: peak %.1f MiB", case, peak / 2**20)
        rows.append(
            {
                "device": name,
                "workload": case.workload,
                "image_size": case.image_size,
                "n_steps": case.n_steps,
                "grad_tracking": case.grad_tracking,
                "gradient_checkpointing": case.gradient_checkpointing,
                "peak_bytes": peak,
                "method": method,
            }
        )
    frame = pd.DataFrame(rows, columns=MEMORY_COLUMNS)
    save_dataframe_csv(frame, out_path)
    return frame




if __name__ == "__main__":
    _serve_one_call()

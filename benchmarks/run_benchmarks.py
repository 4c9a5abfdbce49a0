"""Measure training and sampling speed and memory on this machine and write docs/benchmarks.md.

Run from the repository root after installing the package:

    .venv/bin/python benchmarks/run_benchmarks.py

It measures, with randomly initialised networks:
- paired training throughput (images per second) at batch 1 and 16 for the
  small and paper UNet presets, and the cost of the optimizer and EMA update
  as a ratio of the whole training step to its forward and backward passes;
- the Euler–Maruyama sampler's time against N times the bare UNet forward;
- the unpaired training step's time and peak memory at N = 10 and 50, with
  and without gradient checkpointing;
- the paper UNet forward in float32 against bfloat16 autocast with the
  channels-last layout: speed and relative difference of the outputs;
- with --trained-model, the SSIM of translations of the evaluation split in
  float32 and in bfloat16, and their difference.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch

from sdetranslate.ema import ExponentialMovingAverage
from sdetranslate.evaluation import score_translations
from sdetranslate.losses import score_matching_loss
from sdetranslate.precision import autocast, prepare_model
from sdetranslate.profiling import (
    MemoryCase,
    ProfileModel,
    call_in_fresh_process,
    cpu_model,
    device_name,
    measure_case,
    synchronize,
    time_call,
)
from sdetranslate.provenance import code_version
from sdetranslate.runtime import resolve_device
from sdetranslate.sampling import GlobalNoise, get_sampler
from sdetranslate.score import get_score_fn
from sdetranslate.splits import load_split
from sdetranslate.training import TrainConfig, build_optimizer, update_weights
from sdetranslate.translate import translate_split
from sdetranslate.unpaired import UnpairedConfig, unpaired_losses

logger = logging.getLogger("benchmarks")
REPO = Path(__file__).resolve().parents[1]
SDE = {"beta_min": 0.1, "beta_max": 20.0, "eps": 1e-3}
MIB = 2**20
# The script rewrites only the part of the page between these markers.
SECTION_START = "<!-- run_benchmarks.py: start -->"
SECTION_END = "<!-- run_benchmarks.py: end -->"


def random_images(batch_size: int, image_size: int, device: torch.device, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch_size, 3, image_size, image_size, generator=generator).mul(2).sub(1).to(device)


def paired_training(preset: str, image_size: int, batch_size: int, device: torch.device, repeats: int) -> dict:
    """Time paired training steps (two models) and, within each, its forward and backward passes."""
    profile = ProfileModel(preset, SDE)
    models, emas = {}, {}
    for index, direction in enumerate(("AtoB", "BtoA")):
        models[direction], sde = profile.build(image_size, device, seed=index)
        models[direction].train()
        emas[direction] = ExponentialMovingAverage(models[direction], 0.999)
    optimizer = build_optimizer(models, TrainConfig(steps=1, lr=1e-4))
    score_fns = {direction: get_score_fn(sde, model) for direction, model in models.items()}
    a = random_images(batch_size, image_size, device, seed=1)
    b = random_images(batch_size, image_size, device, seed=2)

    def forward_backward():
        optimizer.zero_grad(set_to_none=True)
        loss = score_matching_loss(score_fns["AtoB"], sde, b, a, SDE["eps"]) + score_matching_loss(
            score_fns["BtoA"], sde, a, b, SDE["eps"]
        )
        loss.backward()

    def timed_step() -> tuple[float, float]:
        """Run one whole step and return the seconds of its forward and backward part and of all of it."""
        synchronize(device)
        started = time.perf_counter()
        forward_backward()
        synchronize(device)
        passes_done = time.perf_counter()
        update_weights(models, emas, optimizer, 1.0, step=1000)
        synchronize(device)
        return passes_done - started, time.perf_counter() - started

    # Both parts are timed within the same steps, so that drifts of the machine hit both alike.
    timed_step()
    passes, steps = zip(*(timed_step() for _ in range(repeats)))
    step_s = statistics.median(steps)
    return {
        "preset": preset,
        "image_size": image_size,
        "batch_size": batch_size,
        "step_s": step_s,
        "images_per_s": batch_size / step_s,
        "ratio": statistics.median(step / passes_s for passes_s, step in zip(passes, steps)),
    }


def sampler_overhead(preset: str, image_size: int, batch_size: int, n_steps: int, device, repeats: int) -> dict:
    net, sde = ProfileModel(preset, SDE).build(image_size, device)
    score_fn = get_score_fn(sde, net)
    cond = random_images(batch_size, image_size, device, seed=1)
    x = random_images(batch_size, image_size, device, seed=2)
    t = torch.full((batch_size,), 0.5, device=device)
    sampler = get_sampler("em").fn
    with torch.inference_mode():
        forward = statistics.median(time_call(lambda: net(x, cond, t), device, repeats=max(5, repeats)))
        sampling = statistics.median(
            time_call(
                lambda: sampler(score_fn, sde, cond, n_steps, SDE["eps"], GlobalNoise(batch_size)),
                device,
                repeats=repeats,
            )
        )
    return {"n_steps": n_steps, "sampling_s": sampling, "forwards_s": n_steps * forward, "ratio": sampling / (n_steps * forward)}


def unpaired_step(preset: str, image_size: int, batch_size: int, n_steps: int, checkpointing: bool, device, repeats: int) -> dict:
    profile = ProfileModel(preset, SDE)
    models = {}
    for index, direction in enumerate(("AtoB", "BtoA")):
        models[direction], sde = profile.build(image_size, device, seed=index)
        models[direction].train()
    config = UnpairedConfig(train_sampler_steps=n_steps, gradient_checkpointing=checkpointing)
    x0 = random_images(batch_size, image_size, device, seed=1)
    y0 = random_images(batch_size, image_size, device, seed=2)

    def step():
        for model in models.values():
            model.zero_grad(set_to_none=True)
        unpaired_losses(models, sde, x0, y0, config, SDE["eps"])["loss"].backward()

    seconds = statistics.median(time_call(step, device, repeats=repeats))
    case = MemoryCase("unpaired_training_step", image_size, n_steps, True, checkpointing)
    threads = torch.get_num_threads()
    if device.type == "cuda":
        peak = measure_case(case, profile, batch_size, "cuda", threads)
    else:
        peak = call_in_fresh_process(measure_case, case, profile, batch_size, "cpu", threads)
    return {"n_steps": n_steps, "checkpointing": checkpointing, "step_s": seconds, "peak_mib": peak / MIB}


def bf16_forward(preset: str, image_size: int, batch_size: int, device, repeats: int) -> dict:
    net, _ = ProfileModel(preset, SDE).build(image_size, device)
    # The UNet's last convolution starts at zero, which would make both outputs equal; random
    # weights there give the comparison something to measure.
    with torch.no_grad():
        for parameter in net.parameters():
            if parameter.dim() > 1 and not parameter.any():
                torch.nn.init.normal_(parameter, std=0.02)
    cond = random_images(batch_size, image_size, device, seed=1)
    x = random_images(batch_size, image_size, device, seed=2)
    t = torch.full((batch_size,), 0.5, device=device)
    with torch.inference_mode():
        fp32_out = net(x, cond, t)
        fp32_s = statistics.median(time_call(lambda: net(x, cond, t), device, repeats=repeats))
        prepare_model(net, "bf16", device)
        with autocast("bf16", device):
            bf16_out = net(x, cond, t).float()
            bf16_s = statistics.median(time_call(lambda: net(x, cond, t), device, repeats=repeats))
    difference = (bf16_out - fp32_out).norm() / fp32_out.norm()
    return {"fp32_s": fp32_s, "bf16_s": bf16_s, "speedup": fp32_s / bf16_s, "relative_difference": float(difference)}


def precision_ssim(model_path: Path, split_path: Path, direction: str, n_steps: int, device, out_dir: Path) -> dict:
    data = load_split(split_path)
    means = {}
    for precision in ("fp32", "bf16"):
        out = out_dir / f"{precision}.pt"
        translate_split(
            model_path,
            data,
            experiment="benchmark",
            direction=direction,
            sampler="em",
            n_steps=n_steps,
            seed=0,
            batch_size=16,
            device=device,
            out_path=out,
            precision=precision,
        )
        scores = score_translations(out, split_path, experiment="benchmark", task="paired", dataset="benchmark")
        means[precision] = float(scores["ssim"].mean())
    return {"fp32": means["fp32"], "bf16": means["bf16"], "difference": means["bf16"] - means["fp32"]}


def table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines + [""]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md", help="page to write")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement")
    parser.add_argument("--trained-model", type=Path, help="model file for the fp32 against bf16 SSIM check")
    parser.add_argument("--eval-split", type=Path, help="prepared evaluation split for --trained-model")
    parser.add_argument("--direction", default="AtoB", help="direction of --trained-model")
    parser.add_argument("--ssim-n-steps", type=int, default=250, help="sampler steps of the SSIM check")
    args = parser.parse_args(argv)
    if bool(args.trained_model) != bool(args.eval_split):
        parser.error("--trained-model and --eval-split go together; give both or neither")
    for option, path in (("--trained-model", args.trained_model), ("--eval-split", args.eval_split)):
        if path is not None and not path.is_file():
            parser.error(f"{option} {path} is not a file")
    if args.direction not in ("AtoB", "BtoA"):
        parser.error(f"--direction must be AtoB or BtoA, got {args.direction!r}")
    for option, value in (("--repeats", args.repeats), ("--threads", args.threads), ("--ssim-n-steps", args.ssim_n_steps)):
        if value < 1:
            parser.error(f"{option} must be at least 1, got {value}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    command = " ".join(shlex.quote(part) for part in [Path(sys.executable).name, *sys.argv])

    lines = [
        "## Training and sampling speed",
        "",
        "Written by `benchmarks/run_benchmarks.py`. Rerun it to measure another machine.",
        "",
        f"- Command: `{command}`",
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}",
        f"- Device: {device.type}: {device_name(device)}",
        f"- Code version: `{code_version(REPO)}`",
        f"- Software: Python {platform.python_version()}, torch {torch.__version__}",
        f"- Date: {datetime.date.today().isoformat()}",
        "- Load average (1, 5, 15 min) at the start: " + ", ".join(f"{value:.1f}" for value in os.getloadavg()),
        f"- Timings are medians over {args.repeats} runs after a warm-up run; networks have random weights.",
        "",
        "### Paired training",
        "",
        "One training step of both direction models at 64×64: forward, loss, backward, gradient clipping,",
        "Adam (fused kernel) and the EMA update (one multi-tensor lerp). The last column divides the whole",
        "step by its forward and backward passes alone; the optimizer and EMA cost is the excess over 1.",
        "",
    ]
    rows = []
    for preset in ("small", "paper"):
        for batch_size in (1, 16):
            logger.info("paired training, %s preset, batch %d", preset, batch_size)
            result = paired_training(preset, 64, batch_size, device, args.repeats)
            rows.append(
                [preset, batch_size, f"{result['step_s']:.3f}", f"{result['images_per_s']:.1f}", f"{result['ratio']:.3f}"]
            )
    lines += table(["preset", "batch", "step (s)", "images/s", "step / (forward + backward)"], rows)

    lines += [
        "### Sampler overhead",
        "",
        "Euler–Maruyama translation of a batch of 16 at 32×32 with the small preset, against N bare UNet forwards.",
        "",
    ]
    rows = []
    for n_steps in (10, 50):
        logger.info("sampler overhead, N=%d", n_steps)
        result = sampler_overhead("small", 32, 16, n_steps, device, args.repeats)
        rows.append([n_steps, f"{result['sampling_s']:.3f}", f"{result['forwards_s']:.3f}", f"{result['ratio']:.3f}"])
    lines += table(["N", "sampling (s)", "N × forward (s)", "ratio"], rows)

    lines += [
        "### Unpaired training step",
        "",
        "Both models, four in-loop Euler–Maruyama samplers with gradients, the score terms and the backward",
        "pass; small preset, 32×32, batch 8. Peak memory is measured in a fresh process (CPU: peak resident",
        "memory minus resident memory after a warm-up forward; CUDA: the allocator's peak above the baseline).",
        "",
    ]
    rows = []
    for n_steps in (10, 50):
        for checkpointing in (False, True):
            logger.info("unpaired step, N=%d, checkpointing %s", n_steps, checkpointing)
            result = unpaired_step("small", 32, 8, n_steps, checkpointing, device, args.repeats)
            rows.append([n_steps, "on" if checkpointing else "off", f"{result['step_s']:.2f}", f"{result['peak_mib']:.0f}"])
    lines += table(["N", "checkpointing", "step (s)", "peak memory (MiB)"], rows)

    lines += [
        "### bfloat16",
        "",
        "Paper-preset UNet forward at 64×64, batch 16, in float32 against bfloat16 autocast with the",
        "channels-last layout, and the relative L2 difference of the two outputs.",
        "",
    ]
    logger.info("bf16 forward")
    result = bf16_forward("paper", 64, 16, device, args.repeats)
    lines += table(
        ["fp32 (s)", "bf16 (s)", "speed-up", "relative difference"],
        [[f"{result['fp32_s']:.3f}", f"{result['bf16_s']:.3f}", f"{result['speedup']:.2f}", f"{result['relative_difference']:.4f}"]],
    )
    if args.trained_model:
        logger.info("fp32 against bf16 SSIM with %s", args.trained_model)
        work = args.out.parent / ".precision_check"
        work.mkdir(parents=True, exist_ok=True)
        result = precision_ssim(args.trained_model, args.eval_split, args.direction, args.ssim_n_steps, device, work)
        for path in work.iterdir():
            path.unlink()
        work.rmdir()
        lines += [
            f"Translations of `{args.eval_split}` by `{args.trained_model}` ({args.direction}, N = {args.ssim_n_steps}):",
            "",
        ]
        lines += table(
            ["SSIM fp32", "SSIM bf16", "difference"],
            [[f"{result['fp32']:.4f}", f"{result['bf16']:.4f}", f"{result['difference']:+.4f}"]],
        )
    write_section(args.out, lines)
    logger.info("wrote %s", args.out)


def write_section(page: Path, lines: list[str]) -> None:
    """Replace this script's section of `page`, between its start and end markers, with `lines`.

    The rest of the page, such as the sampler comparison, is kept. A page without the
    markers gets the section after its first line, and a missing page is created.
    """
    block = [SECTION_START, *lines, SECTION_END]
    text = page.read_text(encoding="utf-8") if page.exists() else "# Benchmarks\n"
    if SECTION_START in text and SECTION_END in text:
        before, rest = text.split(SECTION_START, 1)
        after = rest.split(SECTION_END, 1)[1]
        text = before + "\n".join(block) + after
    else:
        title, _, body = text.partition("\n")
        text = "\n".join([title, "", *block, "", body.lstrip("\n")])
    page.parent.mkdir(parents=True, exist_ok=True)
    tmp = page.with_name(page.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(page)


if __name__ == "__main__":
    main()

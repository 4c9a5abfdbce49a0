"""Device selection, thread counts, seeding and logging set-up shared by the pipeline steps."""

from __future__ import annotations

import logging
import os
import random
import sys
import traceback

import numpy as np
import torch

logger = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """Return the torch device for a config value: `auto` (CUDA when present, else CPU), `cpu`, `cuda` or `cuda:N`."""
    if name == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            device = torch.device(name)
        except RuntimeError as error:
            raise ValueError(f"invalid device {name!r}; use auto, cpu, cuda or cuda:N") from error
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {name!r} was requested but CUDA is not available; use device: auto or cpu")
    logger.info("using device %s", device)
    return device


def set_threads(threads: int) -> None:
    """Limit torch's intra-op CPU threads to what the Snakemake rule was given."""
    torch.set_num_threads(max(1, int(threads)))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def log_slurm_job() -> None:
    """Log the Slurm job id, node and visible GPUs when the process runs inside a Slurm job."""
    job_id = os.environ.get("SLURM_JOB_ID")
    if job_id is None:
        return
    logger.info(
        "running in Slurm job %s on node %s (CUDA_VISIBLE_DEVICES=%s)",
        job_id,
        os.environ.get("SLURMD_NODENAME", "unknown"),
        os.environ.get("CUDA_VISIBLE_DEVICES", "unset"),
    )


def start_step(log_path: str, threads: int | None = None) -> None:
    """Prepare a pipeline step: log records and stderr (progress bars, warnings) go to `log_path`.

    `threads` limits torch's CPU threads when given.
    """
    stream = open(log_path, "a", buffering=1, encoding="utf-8")  # kept open for the process's lifetime
    console = sys.stderr
    sys.stderr = stream

    def report_uncaught(exc_type, exc_value, exc_traceback) -> None:
        # The error goes to the log and to the console, where Snakemake shows it.
        for target in (stream, console):
            traceback.print_exception(exc_type, exc_value, exc_traceback, file=target)
            target.flush()

    sys.excepthook = report_uncaught
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    log_slurm_job()
    if threads is not None:
        set_threads(threads)
        logger.info("torch uses %d CPU threads", torch.get_num_threads())

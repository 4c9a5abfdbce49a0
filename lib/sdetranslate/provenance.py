"""A record of what produced a run's results: code version, device, package versions and config.

The record is written as YAML for tools and as reStructuredText for the
opening page of the HTML report.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import logging
import os
import platform
import subprocess
from pathlib import Path
from typing import Sequence

import torch
import yaml

from sdetranslate.io import atomic_path
from sdetranslate.profiling import device_name
from sdetranslate.runtime import resolve_device

logger = logging.getLogger(__name__)

UNKNOWN = "unknown"
PACKAGES = ("torch", "torchvision", "numpy", "snakemake", "scikit-image")


def code_version(repository: str | os.PathLike) -> str:
    """Return the git commit of `repository`, with "+uncommitted changes" when its tracked files differ,
    or "unknown" outside git or without a git executable."""
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repository), *args], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    if not commit:
        return UNKNOWN
    return f"{commit}+uncommitted changes" if dirty else commit


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def collect_run_info(config: dict, device: str, version: str, config_files: Sequence[str]) -> dict:
    resolved = resolve_device(device)
    return {
        "code_version": version,
        "device": f"{resolved.type}: {device_name(resolved)}",
        "cuda": torch.version.cuda or "none",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "config_files": [str(path) for path in config_files],
        "recorded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "config": config,
    }


def _flow(value) -> str:
    """Return `value` as one line of YAML flow style."""
    return yaml.safe_dump(value, default_flow_style=True, width=float("inf"), sort_keys=False).strip()


def _experiment_line(experiment: dict) -> str:
    """Summarize an experiment as its name, task, method, dataset, size, UNet and training budget."""
    parts = [str(experiment[key]) for key in ("task", "method", "dataset") if experiment.get(key) is not None]
    if "image_size" in experiment:
        parts.append(f"{experiment['image_size']} px")
    if "model" in experiment:
        parts.append(f"{experiment['model'].get('preset', 'custom')} UNet")
    training = experiment.get("training", {})
    if "steps" in training:
        parts.append(f"{training['steps']} steps of batch {training.get('batch_size', '?')}")
    return f"``{experiment.get('name', '?')}``: {', '.join(parts)}"


def run_info_rst(info: dict) -> str:
    """Render a run record as the reStructuredText of the report's opening page.

    The page stays short, because the report centres it on the screen and cuts
    off what does not fit. The full configuration is in the YAML record.
    """
    config = info["config"]
    packages = ", ".join(f"{name} {version}" for name, version in info["packages"].items())
    lines = [
        "Score-SDE image-to-image translation",
        "====================================",
        "",
        "Every figure and table of this run. The full configuration, with defaults filled in,"
        " is in ``results/run_info.yaml`` under Run.",
        "",
        f"- **Code version:** ``{info['code_version']}``",
        f"- **Device:** {info['device']}",
        f"- **Software:** Python {info['python']}, {packages}",
        f"- **Config files:** {', '.join(info['config_files']) or 'none'}",
        f"- **Recorded:** {info['recorded_at']}",
        "",
        "Configuration",
        "-------------",
        "",
    ]
    lines += [f"- **Experiment** {_experiment_line(experiment)}" for experiment in config.get("experiments", [])]
    lines += [
        f"- **Dataset** ``{dataset.get('name', '?')}``: {dataset.get('source', '?')}, {dataset.get('layout', '?')}"
        for dataset in config.get("datasets", [])
    ]
    scalars = {key: value for key, value in config.items() if not isinstance(value, (dict, list))}
    if scalars:
        lines.append("- " + ", ".join(f"**{key}:** ``{value}``" for key, value in scalars.items()))
    for key, value in config.items():
        if key not in ("experiments", "datasets") and key not in scalars:
            lines.append(f"- **{key}:** ``{_flow(value)}``")
    # Jinja renders the page before docutils does, so braces of flow-style YAML stay literal.
    return "\n".join(["{% raw %}", *lines, "{% endraw %}", ""])


def write_run_info(
    yaml_path: str | os.PathLike,
    rst_path: str | os.PathLike,
    *,
    config: dict,
    device: str,
    version: str,
    config_files: Sequence[str],
) -> dict:
    """Write the run record as YAML at `yaml_path` and as the report's opening page at `rst_path`.

    `version` is the code version, as `code_version` returns it.
    """
    info = collect_run_info(config, device, version, config_files)
    with atomic_path(yaml_path) as tmp:
        Path(tmp).write_text(yaml.safe_dump(info, sort_keys=False, allow_unicode=True), encoding="utf-8")
    with atomic_path(rst_path) as tmp:
        Path(tmp).write_text(run_info_rst(info), encoding="utf-8")
    logger.info("code version %s on %s", info["code_version"], info["device"])
    return info

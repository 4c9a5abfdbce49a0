"""End-to-end tests of the Snakemake workflow on tiny CPU configurations.

Each test runs the real `snakemake` in a subprocess on the repository's Snakefile
with a temporary working directory. The repository's config.yaml is always
loaded first, so every configuration here replaces its `datasets` and
`experiments` lists and overrides the other keys that matter for speed.
"""

from __future__ import annotations

import copy
import functools
import http.server
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from browser import Browser, chromium_path

from sdetranslate.profiling import MEMORY_COLUMNS, TIME_COLUMNS

REPO = Path(__file__).resolve().parents[1]
# Screenshots of the report, kept for people to look at after a test run.
ARTIFACTS = REPO / "build" / "test-artifacts"
SNAKEFILE = REPO / "Snakefile"
MAPS_SAMPLE = REPO.parent / "shared" / "data" / "maps_sample.tar.gz"
MAPS_SAMPLE_SHA256 = "5fad47de8c7a9030cc39b7af13fd2371b25236d98c9cd56371e3ac3f2ffe66c0"

DIRECTIONS = ("AtoB", "BtoA")
N_STEPS = (2, 5)
N_EVAL_IMAGES = 4
SAMPLER = "em"
# (sampler, NFE budget, NFE spent) of the tiny runs. ode_heun spends an odd number,
# so its budget of 4 buys 2 steps that spend 3 evaluations.
FAST_RUNS = (("dpm_solver", 3, 3), ("ode_heun", 4, 3))
SAMPLING_RUNS = tuple((SAMPLER, n_steps, n_steps) for n_steps in N_STEPS) + FAST_RUNS
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Upper bound for one Snakemake call. A full tiny run took about a minute on 2 CPU cores.
SNAKEMAKE_TIMEOUT_S = 600

SSIM_COLUMNS = [
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
# Rules whose jobs depend on the sampling settings, and rules whose jobs do not.
SAMPLING_DOWNSTREAM_RULES = (
    "sample",
    "score_experiment",
    "plot_sample_grids",
    "collect_metrics",
    "plot_paired_translations",
    "plot_ssim_vs_steps",
    "plot_ssim_vs_nfe",
    "plot_sampler_comparison",
)
SAMPLING_UPSTREAM_RULES = ("generate_synthetic_maps", "prepare_paired_split", "train_paired")

SYNTHETIC_DATASET = {
    "name": "synthetic_tiny",
    "source": "synthetic",
    "domains": ["satellite", "map"],
    "synthetic": {"n_train": 8, "n_val": 4, "tile_size": 64, "seed": 0},
    "splits": {
        "train": {"folder": "train", "limit": 8},
        "eval": {"folder": "val", "limit": N_EVAL_IMAGES},
    },
}


# Profiling at test scale; runs that do not check it switch it off.
TINY_PROFILING = {
    "enabled": True,
    "preset": "tiny",
    "image_sizes": [16],
    "n_steps": [2, 4],
    "batch_size": 2,
    "repeats": 2,
    "memory_image_sizes": [16],
    "memory_n_steps": [2],
    "memory_batch_size": 2,
}


def tiny_config(dataset: dict, experiment_name: str) -> dict:
    """Return a configuration that trains the tiny UNet at 16 px for 20 steps on `dataset`."""
    return {
        "device": "cpu",
        "threads": 1,
        "datasets": [dataset],
        "experiments": [
            {
                "name": experiment_name,
                "task": "paired",
                "dataset": dataset["name"],
                "image_size": 16,
                "model": {"preset": "tiny"},
                "training": {
                    "steps": 20,
                    "batch_size": 4,
                    "warmup_steps": 5,
                    "checkpoint_every": 10,
                    "log_every": 5,
                    "seed": 0,
                },
            }
        ],
        "sampling": {
            "samplers": [
                {"name": SAMPLER, "n_steps": list(N_STEPS)},
                *({"name": name, "n_steps": [n_steps]} for name, n_steps, _ in FAST_RUNS),
            ],
            "batch_size": 4,
            "seed": 0,
        },
        "figures": {"grid_images": 4, "translation_images": 2},
        "profiling": dict(TINY_PROFILING, enabled=False),
    }


def url_dataset(name: str, url: str) -> dict:
    return {
        "name": name,
        "source": "url",
        "url": url,
        "sha256": MAPS_SAMPLE_SHA256,
        "domains": ["satellite", "map"],
        "splits": {
            "train": {"folder": "train", "limit": 8},
            "eval": {"folder": "val", "limit": N_EVAL_IMAGES},
        },
    }


def write_config(path: Path, config: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def run_snakemake(
    workdir: Path, configfile: Path | None, *args: str
) -> subprocess.CompletedProcess:
    """Run Snakemake on the repository's Snakefile in `workdir` and return the finished process.

    stdout and stderr are merged into `stdout`, because Snakemake splits its
    messages between the two.
    """
    # `args` go before the options that take several values (--configfile,
    # --resources), which would otherwise swallow targets given after them.
    command = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(workdir), *args]
    if configfile is not None:
        command += ["--configfile", str(configfile)]
    command += ["--cores", "2", "--resources", "gpu=1"]
    return subprocess.run(
        command,
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=SNAKEMAKE_TIMEOUT_S,
    )


def output_tail(result: subprocess.CompletedProcess, lines: int = 60) -> str:
    """Return the error lines of a Snakemake run, which a long schema dump may push out of view,
    followed by the last `lines` lines of its output."""
    output = result.stdout.splitlines()
    errors = [line for line in output if "Error" in line or "config:" in line or "unexpected" in line]
    return "\n".join(errors[:10] + ["..."] + output[-lines:])


def run_ok(workdir: Path, configfile: Path | None, *args: str) -> subprocess.CompletedProcess:
    result = run_snakemake(workdir, configfile, *args)
    assert result.returncode == 0, f"snakemake {' '.join(args)} failed:\n{output_tail(result)}"
    return result


def planned_jobs(output: str) -> dict[str, int]:
    """Parse the first "Job stats" table of Snakemake's output into {rule: job count}.

    Snakemake 9.27 prints the table as a header line `job count`, a dashed line,
    one `<rule> <count>` line per rule and a final `total <count>` line.
    """
    lines = output.splitlines()
    try:
        start = lines.index("Job stats:")
    except ValueError:
        raise AssertionError(f"no 'Job stats:' table in the Snakemake output:\n{output}") from None
    counts = {}
    for line in lines[start + 3 :]:
        match = re.fullmatch(r"(\S+)\s+(\d+)", line.strip())
        if match is None or match.group(1) == "total":
            break
        counts[match.group(1)] = int(match.group(2))
    return counts


def assert_png(path: Path) -> None:
    assert path.is_file(), f"missing figure {path}"
    assert path.read_bytes()[: len(PNG_MAGIC)] == PNG_MAGIC, f"{path} is not a PNG file"


def expected_log_files(experiment: str, dataset: str, data_logs: list[str]) -> list[str]:
    """Return the log files, relative to the working directory, of a complete one-experiment run."""
    logs = list(data_logs)
    logs += [f"logs/data/prepare_{dataset}_16px_{role}.log" for role in ("train", "eval")]
    logs.append(f"logs/train/{experiment}.log")
    logs.append(f"logs/score/{experiment}.log")
    logs.append(f"logs/plots/samples/{experiment}.log")
    for direction in DIRECTIONS:
        for sampler, n_steps, _ in SAMPLING_RUNS:
            logs.append(f"logs/sample/{experiment}/{sampler}_{direction}_n{n_steps}.log")
    logs += [
        "logs/collect_metrics.log",
        "logs/plots/paired_translations.log",
        "logs/plots/ssim_vs_steps.log",
        "logs/plots/ssim_vs_nfe.log",
        "logs/plots/sampler_comparison.log",
        "logs/plots/training_loss.log",
    ]
    return logs


def assert_complete_run(workdir: Path, experiment: str, dataset: str, data_logs: list[str]) -> None:
    """Check every output that results/README.md lists for a one-experiment configuration."""
    results = workdir / "results"

    for role in ("train", "eval"):
        split = results / "data" / dataset / "16px" / f"{role}.pt"
        assert split.is_file(), f"missing prepared split {split}"

    experiment_dir = results / "experiments" / experiment
    for direction in DIRECTIONS:
        model = experiment_dir / "models" / f"{direction}.pt"
        assert model.is_file(), f"missing model {model}"
    assert not (experiment_dir / "train_state").exists(), "train_state/ was left after training"

    losses = pd.read_csv(experiment_dir / "training_loss.csv")
    assert list(losses.columns) == ["step", "loss", "loss_AtoB", "loss_BtoA", "lr"]
    assert losses["step"].max() == 20

    ssim = pd.read_csv(results / "metrics" / "ssim.csv")
    assert list(ssim.columns) == SSIM_COLUMNS
    assert set(ssim["experiment"]) == {experiment}
    assert set(ssim["task"]) == {"paired"}
    assert set(ssim["dataset"]) == {dataset}
    runs = list(SAMPLING_RUNS) + [("identity", 0, 0), ("mean", 0, 0)]
    for direction in DIRECTIONS:
        for sampler, n_steps, nfe in runs:
            rows = ssim[
                (ssim["direction"] == direction)
                & (ssim["sampler"] == sampler)
                & (ssim["n_steps"] == n_steps)
            ]
            assert (
                len(rows) == N_EVAL_IMAGES
            ), f"{direction} {sampler} n_steps={n_steps}: {len(rows)} rows"
            assert rows["image_id"].nunique() == N_EVAL_IMAGES
            assert (rows["nfe"] == nfe).all(), f"{direction} {sampler}: nfe {set(rows['nfe'])}"
    assert len(ssim) == len(DIRECTIONS) * len(runs) * N_EVAL_IMAGES
    assert ssim["ssim"].between(-1, 1).all()
    assert ssim["psnr"].notna().all()

    summary = pd.read_csv(results / "metrics" / "ssim_summary.csv")
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert len(summary) == len(DIRECTIONS) * len(runs)
    assert (summary["n_images"] == N_EVAL_IMAGES).all()
    fast = summary[summary["sampler"].isin([name for name, _, _ in FAST_RUNS])]
    assert sorted(zip(fast["sampler"], fast["nfe"])) == sorted(
        (name, nfe) for name, _, nfe in FAST_RUNS for _ in DIRECTIONS
    )

    figures = (
        "paired_translations",
        "ssim_vs_steps",
        "ssim_vs_nfe",
        "sampler_comparison",
        "training_loss",
    )
    for figure in figures:
        assert_png(results / "figures" / f"{figure}.png")
    for direction in DIRECTIONS:
        for sampler, n_steps, _ in SAMPLING_RUNS:
            assert_png(
                results
                / "figures"
                / "samples"
                / experiment
                / f"{sampler}_{direction}_n{n_steps}.png"
            )
            samples = experiment_dir / "samples" / sampler / direction / f"n{n_steps}.pt"
            assert samples.is_file(), f"missing samples {samples}"
            benchmark = (
                results
                / "benchmarks"
                / "sample"
                / experiment
                / f"{sampler}_{direction}_n{n_steps}.tsv"
            )
            assert benchmark.is_file(), f"missing benchmark {benchmark}"
    assert (results / "benchmarks" / "train" / f"{experiment}.tsv").is_file()

    for log in expected_log_files(experiment, dataset, data_logs):
        path = workdir / log
        assert path.is_file(), f"missing log {log}"
        assert path.stat().st_size > 0, f"empty log {log}"


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory) -> tuple[Path, Path]:
    """Run the whole pipeline once on the synthetic dataset and return (workdir, config file)."""
    workdir = tmp_path_factory.mktemp("synthetic_run")
    config = tiny_config(SYNTHETIC_DATASET, "tiny_synthetic")
    config["profiling"]["enabled"] = True
    configfile = write_config(workdir / "config.yaml", config)
    run_ok(workdir, configfile)
    return workdir, configfile


@pytest.mark.integration
def test_pipeline_synthetic_end_to_end(synthetic_run):
    workdir, configfile = synthetic_run
    dataset = SYNTHETIC_DATASET["name"]

    assert_complete_run(
        workdir, "tiny_synthetic", dataset, data_logs=[f"logs/data/generate_{dataset}.log"]
    )

    result = run_ok(workdir, configfile, "-n")
    assert "Nothing to be done" in result.stdout, output_tail(result)


@pytest.mark.integration
def test_pipeline_profiling_tables_and_pdf_figures(synthetic_run):
    workdir, _ = synthetic_run
    results = workdir / "results"
    timing = pd.read_csv(results / "profiling" / "sampling_time.csv")
    assert list(timing.columns) == TIME_COLUMNS
    assert sorted(timing["n_steps"]) == TINY_PROFILING["n_steps"]
    assert (timing["seconds_median"] > 0).all()
    memory = pd.read_csv(results / "profiling" / "memory.csv")
    assert list(memory.columns) == MEMORY_COLUMNS
    assert len(memory) == 4
    assert (memory["peak_bytes"] >= 0).all()
    figures = sorted((results / "figures").rglob("*.png"))
    assert {figure.stem for figure in figures} >= {"sampling_time", "memory", "ssim_vs_steps"}
    for figure in figures:
        assert figure.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-", f"no PDF beside {figure}"
    info = yaml.safe_load((results / "run_info.yaml").read_text(encoding="utf-8"))
    assert info["code_version"]
    assert info["device"].startswith("cpu")
    assert info["config"]["experiments"][0]["name"] == "tiny_synthetic"


@pytest.mark.integration
def test_report_shows_every_figure_in_a_browser(synthetic_run):
    """Build the HTML report and look at it in headless Chromium as a reader would."""
    executable = chromium_path()
    workdir, configfile = synthetic_run
    report = workdir / "results" / "report.html"
    result = run_ok(workdir, configfile, "--report", str(report))
    # docutils reports a caption that does not render, such as one naming a missing wildcard.
    for level in ("WARNING/2", "ERROR/3", "SEVERE/4"):
        assert level not in result.stdout, output_tail(result)
    figures = sorted(
        str(path.relative_to(workdir)) for path in (workdir / "results" / "figures").rglob("*.png")
    )

    with Browser(executable) as browser:
        browser.navigate(report.as_uri())
        landing = browser.wait_for(
            "typeof app !== 'undefined' && document.querySelector('#app').innerText.includes('Code version')"
            " && document.querySelector('#app').innerText"
        )
        for text in ("Device:", "Configuration", "tiny_synthetic"):
            assert text in landing, f"the report's opening page lacks {text!r}"
        # The report centres its opening page, so a page taller than the window loses its top.
        title_top = browser.evaluate(
            "Array.from(document.querySelectorAll('h1')).find(h => h.innerText.includes('Score-SDE'))"
            ".getBoundingClientRect().top"
        )
        assert title_top >= 0, "the top of the report's opening page is cut off"
        browser.evaluate("document.querySelectorAll('*').forEach(node => { node.scrollTop = 0; })")
        time.sleep(1)  # the menu fades in
        browser.screenshot(ARTIFACTS / "report_landing.png")

        registered = browser.evaluate("Object.keys(results)")
        missing = [figure for figure in figures if figure not in registered]
        assert not missing, f"figures not registered in the report: {missing}"
        for figure in figures:
            # The same view a click on the figure's entry opens.
            browser.evaluate(
                f"app.setView({{content: 'img', contentPath: results[{figure!r}].data_uri,"
                f" resultPath: {figure!r}}})"
            )
            width = browser.wait_for(
                f"(() => {{ const img = Array.from(document.querySelectorAll('#app img'))"
                f".find(i => i.src === results[{figure!r}].data_uri);"
                f" return img && img.complete && img.naturalWidth; }})()"
            )
            assert width > 0, f"{figure} does not display"
        browser.screenshot(ARTIFACTS / "report_figure.png")
        assert browser.errors() == [], f"console errors in the report: {browser.errors()}"


@pytest.mark.integration
def test_pipeline_params_change_reruns_only_downstream(synthetic_run, tmp_path):
    workdir, configfile = synthetic_run
    config = yaml.safe_load(configfile.read_text(encoding="utf-8"))

    new_seed = copy.deepcopy(config)
    new_seed["sampling"]["seed"] = 1
    result = run_ok(
        workdir, write_config(tmp_path / "seed.yaml", new_seed), "-n", "--quiet", "rules"
    )
    jobs = planned_jobs(result.stdout)
    for rule in SAMPLING_DOWNSTREAM_RULES:
        assert rule in jobs, f"{rule} is not rerun after sampling.seed changed: {jobs}"
    assert jobs["sample"] == len(DIRECTIONS) * len(SAMPLING_RUNS)
    assert jobs["score_experiment"] == 1
    assert jobs["plot_sample_grids"] == 1
    for rule in SAMPLING_UPSTREAM_RULES + ("plot_training_loss",):
        assert rule not in jobs, f"{rule} is rerun after sampling.seed changed: {jobs}"

    more_steps = copy.deepcopy(config)
    more_steps["experiments"][0]["training"]["steps"] = 30
    result = run_ok(
        workdir, write_config(tmp_path / "steps.yaml", more_steps), "-n", "--quiet", "rules"
    )
    jobs = planned_jobs(result.stdout)
    assert (
        jobs.get("train_paired") == 1
    ), f"train_paired is not rerun after training.steps changed: {jobs}"
    assert "plot_training_loss" in jobs
    assert "sample" in jobs
    assert "prepare_paired_split" not in jobs
    assert "generate_synthetic_maps" not in jobs


class RecordingHandler(http.server.SimpleHTTPRequestHandler):
    """Static file handler that appends each GET to `server.requests` and logs nothing."""

    def do_GET(self):
        self.server.requests.append(("GET", self.path))
        super().do_GET()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def archive_server():
    """Serve the folder of the maps sample archive on 127.0.0.1 and yield the server."""
    if not MAPS_SAMPLE.is_file():
        pytest.skip(f"sample archive not found at {MAPS_SAMPLE}")
    handler = functools.partial(RecordingHandler, directory=str(MAPS_SAMPLE.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def closed_port() -> int:
    """Return a loopback port that nothing listens on (free when this returns)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.integration
def test_pipeline_maps_archive_over_http(archive_server, tmp_path):
    port = archive_server.server_address[1]
    dataset = "maps_sample"
    url = f"http://127.0.0.1:{port}/{MAPS_SAMPLE.name}"
    configfile = write_config(
        tmp_path / "config.yaml", tiny_config(url_dataset(dataset, url), "tiny_maps")
    )

    run_ok(tmp_path, configfile)

    assert ("GET", f"/{MAPS_SAMPLE.name}") in archive_server.requests
    archive = tmp_path / "resources" / "archives" / dataset / MAPS_SAMPLE.name
    assert archive.read_bytes() == MAPS_SAMPLE.read_bytes()
    download_log = f"logs/data/download_{dataset}_{MAPS_SAMPLE.name}.log"
    assert MAPS_SAMPLE_SHA256 in (tmp_path / download_log).read_text(encoding="utf-8")
    assert_complete_run(
        tmp_path,
        "tiny_maps",
        dataset,
        data_logs=[download_log, f"logs/data/extract_{dataset}.log"],
    )


@pytest.mark.integration
def test_pipeline_uses_preplaced_archive(tmp_path):
    if not MAPS_SAMPLE.is_file():
        pytest.skip(f"sample archive not found at {MAPS_SAMPLE}")
    dataset = "maps_offline"
    url = f"http://127.0.0.1:{closed_port()}/{MAPS_SAMPLE.name}"
    configfile = write_config(
        tmp_path / "config.yaml", tiny_config(url_dataset(dataset, url), "tiny_maps")
    )
    archive = tmp_path / "resources" / "archives" / dataset / MAPS_SAMPLE.name
    archive.parent.mkdir(parents=True)
    shutil.copyfile(MAPS_SAMPLE, archive)
    splits = [f"results/data/{dataset}/16px/{role}.pt" for role in ("train", "eval")]

    result = run_ok(tmp_path, configfile, *splits)

    # The download job checks the archive in place; the URL's port is closed, so any
    # network access would fail the run.
    jobs = planned_jobs(result.stdout)
    assert jobs.get("download_archive") == 1
    assert jobs.get("extract_archive") == 1
    assert jobs.get("prepare_paired_split") == 2
    for split in splits:
        assert (tmp_path / split).is_file(), f"missing prepared split {split}"
    assert archive.read_bytes() == MAPS_SAMPLE.read_bytes()
    record = archive.with_name(archive.name + ".verified").read_text(encoding="utf-8")
    assert f"sha256 {MAPS_SAMPLE_SHA256}" in record
    download_log = tmp_path / "logs" / "data" / f"download_{dataset}_{MAPS_SAMPLE.name}.log"
    assert "Using existing" in download_log.read_text(encoding="utf-8")

    # A changed download setting reruns the download job, which keeps the archive.
    config = yaml.safe_load(configfile.read_text(encoding="utf-8"))
    config["datasets"][0]["download"] = {"timeout_s": 5}
    changed = write_config(tmp_path / "changed.yaml", config)
    result = run_ok(tmp_path, changed, *splits)

    assert planned_jobs(result.stdout).get("download_archive") == 1
    assert archive.read_bytes() == MAPS_SAMPLE.read_bytes()


def test_workflow_lint_clean(tmp_path):
    lint = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(tmp_path), "--lint"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=SNAKEMAKE_TIMEOUT_S,
    )
    assert lint.returncode == 0, lint.stdout
    assert "Congratulations, your workflow is in a good condition!" in lint.stdout, lint.stdout

    snakefmt = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", str(SNAKEFILE), str(REPO / "rules")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=SNAKEMAKE_TIMEOUT_S,
    )
    assert snakefmt.returncode == 0, snakefmt.stdout


def test_config_rejects_unknown_key(tmp_path):
    configfile = write_config(tmp_path / "config.yaml", {"sampling": {"n_step": [2]}})

    result = run_snakemake(tmp_path, configfile, "-n")

    assert result.returncode != 0
    assert "Error validating config file" in result.stdout, output_tail(result)
    assert "'n_step' was unexpected" in result.stdout, output_tail(result)


def test_config_rejects_unknown_dataset_reference(tmp_path):
    config = tiny_config(SYNTHETIC_DATASET, "tiny_synthetic")
    config["experiments"][0]["dataset"] = "no_such_dataset"
    configfile = write_config(tmp_path / "config.yaml", config)

    result = run_snakemake(tmp_path, configfile, "-n")

    assert result.returncode != 0
    assert "'no_such_dataset'" in result.stdout, output_tail(result)
    assert "not among the datasets" in result.stdout, output_tail(result)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"name": "em_denoise", "n_steps": [1]},
            "sampling.samplers entry 'em_denoise': sampler 'em_denoise' needs an NFE budget",
        ),
        (
            {"name": "dpm_solver", "n_steps": [5], "settings": {"snr": 0.1}},
            "sampler 'dpm_solver' has no settings ['snr']",
        ),
        (
            {"name": "ode_heun", "n_steps": [9, 10]},
            "NFE budgets 9 and 10 both spend 9 network evaluations per image",
        ),
    ],
)
def test_config_rejects_invalid_sampler_entry(tmp_path, entry, message):
    config = tiny_config(SYNTHETIC_DATASET, "tiny_synthetic")
    config["sampling"]["samplers"] = [entry]
    configfile = write_config(tmp_path / "config.yaml", config)

    result = run_snakemake(tmp_path, configfile, "-n")

    assert result.returncode != 0
    assert message in result.stdout, output_tail(result)

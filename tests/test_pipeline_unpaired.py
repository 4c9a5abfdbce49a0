"""End-to-end tests of the unpaired experiments of the Snakemake workflow on tiny CPU configs.

Like test_pipeline.py, each test runs the real `snakemake` in a subprocess on the
repository's Snakefile with a temporary working directory, and every configuration
replaces the `datasets`, `experiments` and `sampling.samplers` lists of config.yaml.
"""

from __future__ import annotations

import copy
import functools
import http.server
import math
import threading
from pathlib import Path

import pandas as pd
import pytest
import yaml

from test_pipeline import (
    DIRECTIONS,
    SAMPLER,
    SSIM_COLUMNS,
    SYNTHETIC_DATASET,
    RecordingHandler,
    assert_png,
    output_tail,
    planned_jobs,
    run_ok,
    run_snakemake,
    tiny_config,
    write_config,
)

REPO = Path(__file__).resolve().parents[1]
HORSE2ZEBRA_SAMPLE = REPO.parent / "shared" / "data" / "horse2zebra_sample.zip"
HORSE2ZEBRA_SAMPLE_SHA256 = "3fc1646bfd49cb742de4eb47a0e15a2d17f122a6590a8bcbf96b4d496e9969fe"

N_STEPS = (2, 3)
HORSE2ZEBRA_N_STEPS = 2
N_EVAL_IMAGES = 3
TRAINING_STEPS = 6
PAIRED_EXPERIMENT = "tiny_paired"
UNPAIRED_EXPERIMENT = "tiny_unpaired"
BRIDGE_EXPERIMENT = "tiny_bridge"
SDEDIT_EXPERIMENT = "tiny_sdedit"
BRIDGE_NFE = (4, 2)
SDEDIT_T0 = (0.5,)
SDEDIT_STEPS = 3

UNPAIRED_SCORE_COLUMNS = [
    "experiment",
    "method",
    "direction",
    "sampler",
    "n_steps",
    "stripe_score",
    "mask_iou",
    "cycle_error",
]
UNPAIRED_LOSS_COLUMNS = [
    "loss",
    "loss_AtoB",
    "loss_BtoA",
    "loss_cycle",
    "score_y_pseudo",
    "score_y_real",
    "score_x_pseudo",
    "score_x_real",
    "cycle_x",
    "cycle_y",
]

# Folders and ground-truth counterparts are left out, so the unpaired layout's defaults apply.
SYNTHETIC_UNPAIRED_DATASET = {
    "name": "synthetic_unpaired_tiny",
    "source": "synthetic",
    "layout": "unpaired",
    "synthetic": {"n_train": 6, "n_val": N_EVAL_IMAGES, "tile_size": 64, "seed": 0},
    "splits": {"train": {"limit": 6}, "eval": {"limit": N_EVAL_IMAGES}},
}


def unpaired_experiment(name: str, dataset: str) -> dict:
    """Return an unpaired experiment of 6 training steps of batch 2 with 2 in-loop sampler steps."""
    return {
        "name": name,
        "task": "unpaired",
        "dataset": dataset,
        "image_size": 16,
        "model": {"preset": "tiny"},
        "unpaired": {"train_sampler_steps": 2},
        "training": {
            "steps": TRAINING_STEPS,
            "batch_size": 2,
            "warmup_steps": 2,
            "checkpoint_every": 3,
            "log_every": 1,
            "seed": 0,
        },
    }


def unpaired_config(
    dataset: dict, experiment_name: str, n_steps: tuple[int, ...] = N_STEPS
) -> dict:
    """Return a configuration with one unpaired experiment on `dataset`, sampled at `n_steps`."""
    config = tiny_config(dataset, experiment_name)
    config["experiments"] = [unpaired_experiment(experiment_name, dataset["name"])]
    config["sampling"]["samplers"] = [{"name": SAMPLER, "n_steps": list(n_steps)}]
    config["figures"] = {"grid_images": N_EVAL_IMAGES, "translation_images": 2}
    return config


def domain_model_experiments(dataset: str) -> list[dict]:
    """Return a bridge experiment and an SDEdit experiment that uses the bridge's domain models."""
    bridge = unpaired_experiment(BRIDGE_EXPERIMENT, dataset)
    del bridge["unpaired"]
    bridge["method"] = "bridge"
    bridge["bridge"] = {"encode_nfe": BRIDGE_NFE[0], "decode_nfe": BRIDGE_NFE[1]}
    sdedit = {
        "name": SDEDIT_EXPERIMENT,
        "task": "unpaired",
        "method": "sdedit",
        "dataset": dataset,
        "image_size": bridge["image_size"],
        "models_from": BRIDGE_EXPERIMENT,
        "sdedit": {"t0": list(SDEDIT_T0), "n_steps": SDEDIT_STEPS},
    }
    return [bridge, sdedit]


def combined_config() -> dict:
    """Return a configuration with a paired experiment and the three unpaired methods on synthetic data."""
    config = unpaired_config(SYNTHETIC_UNPAIRED_DATASET, UNPAIRED_EXPERIMENT)
    config["experiments"][0]["method"] = "cycle"
    config["experiments"] += domain_model_experiments(SYNTHETIC_UNPAIRED_DATASET["name"])
    paired = tiny_config(SYNTHETIC_DATASET, PAIRED_EXPERIMENT)
    paired_experiment = paired["experiments"][0]
    paired_experiment["training"].update(steps=TRAINING_STEPS, warmup_steps=2, checkpoint_every=3)
    config["datasets"].insert(0, SYNTHETIC_DATASET)
    config["experiments"].insert(0, paired_experiment)
    return config


@pytest.fixture(scope="module")
def combined_run(tmp_path_factory) -> tuple[Path, Path]:
    """Run the whole pipeline once with both experiments and return (workdir, config file)."""
    workdir = tmp_path_factory.mktemp("combined_run")
    configfile = write_config(workdir / "config.yaml", combined_config())
    run_ok(workdir, configfile)
    return workdir, configfile


def rows_of(frame: pd.DataFrame, direction: str, sampler: str, n_steps: int) -> pd.DataFrame:
    return frame[
        (frame["direction"] == direction)
        & (frame["sampler"] == sampler)
        & (frame["n_steps"] == n_steps)
    ]


@pytest.mark.integration
def test_unpaired_synthetic_metrics(combined_run):
    workdir, _ = combined_run
    ssim = pd.read_csv(workdir / "results" / "metrics" / "ssim.csv")
    assert list(ssim.columns) == SSIM_COLUMNS

    unpaired = ssim[ssim["experiment"] == UNPAIRED_EXPERIMENT]
    assert set(unpaired["task"]) == {"unpaired"}
    assert set(unpaired["method"]) == {"cycle"}
    assert set(unpaired["dataset"]) == {SYNTHETIC_UNPAIRED_DATASET["name"]}
    runs = [(SAMPLER, n_steps) for n_steps in N_STEPS] + [("identity", 0), ("mean", 0)]
    for direction in DIRECTIONS:
        for sampler, n_steps in runs:
            rows = rows_of(unpaired, direction, sampler, n_steps)
            assert (
                len(rows) == N_EVAL_IMAGES
            ), f"{direction} {sampler} N={n_steps}: {len(rows)} rows"
            assert rows["image_id"].nunique() == N_EVAL_IMAGES
    assert len(unpaired) == len(DIRECTIONS) * len(runs) * N_EVAL_IMAGES
    assert unpaired["ssim"].between(-1, 1).all()
    assert unpaired["psnr"].notna().all()

    all_scores = pd.read_csv(workdir / "results" / "metrics" / "unpaired_scores.csv")
    assert list(all_scores.columns) == UNPAIRED_SCORE_COLUMNS
    assert set(all_scores["experiment"]) == {
        UNPAIRED_EXPERIMENT,
        BRIDGE_EXPERIMENT,
        SDEDIT_EXPERIMENT,
    }
    scores = all_scores[all_scores["experiment"] == UNPAIRED_EXPERIMENT]
    assert set(scores["method"]) == {"cycle"}
    assert scores["cycle_error"].isna().all()
    stripe_runs = [(SAMPLER, n_steps) for n_steps in N_STEPS] + [("identity", 0)]
    for direction in DIRECTIONS:
        for sampler, n_steps in stripe_runs:
            rows = rows_of(scores, direction, sampler, n_steps)
            assert len(rows) == 1, f"{direction} {sampler} N={n_steps}: {len(rows)} rows"
    assert len(scores) == len(DIRECTIONS) * len(stripe_runs)
    assert all(math.isfinite(value) for value in scores["stripe_score"])
    assert scores["mask_iou"].between(0, 1).all()
    identity = scores[scores["sampler"] == "identity"]
    assert (identity["mask_iou"] == 1).all(), identity


@pytest.mark.integration
def test_unpaired_synthetic_outputs(combined_run):
    workdir, configfile = combined_run
    results = workdir / "results"
    experiment_dir = results / "experiments" / UNPAIRED_EXPERIMENT

    figures = (
        "unpaired_translations",
        "ssim_vs_steps",
        "ssim_vs_nfe",
        "sampler_comparison",
        "training_loss",
    )
    for figure in figures:
        assert_png(results / "figures" / f"{figure}.png")
    for direction in DIRECTIONS:
        model = experiment_dir / "models" / f"{direction}.pt"
        assert model.is_file(), f"missing model {model}"
        for n_steps in N_STEPS:
            samples = experiment_dir / "samples" / SAMPLER / direction / f"n{n_steps}.pt"
            assert samples.is_file(), f"missing samples {samples}"
            grid = results / "figures" / "samples" / UNPAIRED_EXPERIMENT
            assert_png(grid / f"{SAMPLER}_{direction}_n{n_steps}.png")
        # Only the figure's runs, at the largest N, are translated back.
        reconstructions = experiment_dir / "reconstructions" / SAMPLER / direction
        assert (reconstructions / f"n{max(N_STEPS)}.pt").is_file()
        assert not (reconstructions / f"n{min(N_STEPS)}.pt").exists()
    assert not (experiment_dir / "train_state").exists(), "train_state/ was left after training"

    losses = pd.read_csv(experiment_dir / "training_loss.csv")
    for column in ["step", *UNPAIRED_LOSS_COLUMNS, "lr"]:
        assert column in losses.columns, f"training_loss.csv lacks {column}: {list(losses.columns)}"
    assert list(losses["step"]) == list(range(1, TRAINING_STEPS + 1))
    assert losses[UNPAIRED_LOSS_COLUMNS].notna().all().all()

    train_log = (workdir / "logs" / "train" / f"{UNPAIRED_EXPERIMENT}.log").read_text(
        encoding="utf-8"
    )
    assert "in-loop samplers use the live weights" in train_log, train_log
    assert "evaluation sampling uses the EMA weights" in train_log, train_log
    for direction in DIRECTIONS:
        for n_steps in N_STEPS:
            log = (
                workdir
                / "logs"
                / "sample"
                / UNPAIRED_EXPERIMENT
                / f"{SAMPLER}_{direction}_n{n_steps}.log"
            )
            text = log.read_text(encoding="utf-8")
            assert "ema weights" in text.lower(), f"{log} does not mention the EMA weights:\n{text}"

    result = run_ok(workdir, configfile, "-n")
    assert "Nothing to be done" in result.stdout, output_tail(result)


@pytest.mark.integration
def test_paired_and_unpaired_together(combined_run):
    workdir, _ = combined_run
    figures = workdir / "results" / "figures"

    assert_png(figures / "paired_translations.png")
    assert_png(figures / "unpaired_translations.png")

    ssim = pd.read_csv(workdir / "results" / "metrics" / "ssim.csv")
    tasks = ssim.groupby("experiment")["task"].unique().map(list).to_dict()
    assert tasks == {
        PAIRED_EXPERIMENT: ["paired"],
        UNPAIRED_EXPERIMENT: ["unpaired"],
        BRIDGE_EXPERIMENT: ["unpaired"],
        SDEDIT_EXPERIMENT: ["unpaired"],
    }
    methods = ssim.groupby("experiment")["method"].unique().map(list).to_dict()
    assert methods == {
        PAIRED_EXPERIMENT: ["score"],
        UNPAIRED_EXPERIMENT: ["cycle"],
        BRIDGE_EXPERIMENT: ["bridge"],
        SDEDIT_EXPERIMENT: ["sdedit"],
    }

    losses = pd.read_csv(
        workdir / "results" / "experiments" / PAIRED_EXPERIMENT / "training_loss.csv"
    )
    assert "loss_cycle" not in losses.columns


@pytest.mark.integration
def test_bridge_and_sdedit_outputs(combined_run):
    workdir, _ = combined_run
    results = workdir / "results"
    bridge_dir = results / "experiments" / BRIDGE_EXPERIMENT
    sdedit_dir = results / "experiments" / SDEDIT_EXPERIMENT
    bridge_nfe = sum(2 * (nfe // 2) for nfe in BRIDGE_NFE)
    sdedit_samplers = [f"sdedit_t{round(t0 * 100):03d}" for t0 in SDEDIT_T0]

    for domain in ("A", "B"):
        assert (bridge_dir / "models" / f"{domain}.pt").is_file()
    # SDEdit uses the bridge's models and trains none of its own.
    assert not (sdedit_dir / "models").exists()
    assert not (sdedit_dir / "training_loss.csv").exists()
    losses = pd.read_csv(bridge_dir / "training_loss.csv")
    assert list(losses.columns) == ["step", "loss", "loss_A", "loss_B", "lr"]
    assert list(losses["step"]) == list(range(1, TRAINING_STEPS + 1))
    for direction in DIRECTIONS:
        assert (bridge_dir / "samples" / "bridge" / direction / f"n{bridge_nfe}.pt").is_file()
        for sampler in sdedit_samplers:
            assert (sdedit_dir / "samples" / sampler / direction / f"n{SDEDIT_STEPS}.pt").is_file()

    ssim = pd.read_csv(results / "metrics" / "ssim.csv")
    for experiment, runs in (
        (BRIDGE_EXPERIMENT, [("bridge", bridge_nfe)]),
        (SDEDIT_EXPERIMENT, [(sampler, SDEDIT_STEPS) for sampler in sdedit_samplers]),
    ):
        rows = ssim[ssim["experiment"] == experiment]
        for direction in DIRECTIONS:
            for sampler, n_steps in [*runs, ("identity", 0), ("mean", 0)]:
                count = len(rows_of(rows, direction, sampler, n_steps))
                assert count == N_EVAL_IMAGES, f"{experiment} {direction} {sampler}: {count} rows"

    scores = pd.read_csv(results / "metrics" / "unpaired_scores.csv")
    bridge_scores = scores[(scores["method"] == "bridge") & (scores["sampler"] == "bridge")]
    assert len(bridge_scores) == len(DIRECTIONS)
    assert bridge_scores["cycle_error"].between(0, 1).all(), bridge_scores
    sdedit_scores = scores[scores["method"] == "sdedit"]
    assert set(sdedit_scores["sampler"]) == {*sdedit_samplers, "identity"}
    assert sdedit_scores["cycle_error"].isna().all()

    for figure in ("unpaired_comparison", "unpaired_tradeoff"):
        assert_png(results / "figures" / f"{figure}.png")


def test_config_rejects_models_from_other_dataset(tmp_path):
    config = combined_config()
    sdedit = next(entry for entry in config["experiments"] if entry["name"] == SDEDIT_EXPERIMENT)
    sdedit["image_size"] = 32
    configfile = write_config(tmp_path / "config.yaml", config)

    result = run_snakemake(tmp_path, configfile, "-n")

    assert result.returncode != 0, output_tail(result)
    assert f"experiment '{SDEDIT_EXPERIMENT}' uses the models of" in result.stdout, output_tail(result)
    assert "image_size values differ" in result.stdout, output_tail(result)


def test_config_rejects_other_method_section(tmp_path):
    config = combined_config()
    bridge = next(entry for entry in config["experiments"] if entry["name"] == BRIDGE_EXPERIMENT)
    bridge["sdedit"] = {"t0": [0.2]}
    configfile = write_config(tmp_path / "config.yaml", config)

    result = run_snakemake(tmp_path, configfile, "-n")

    assert result.returncode != 0, output_tail(result)
    expected = f"experiment '{BRIDGE_EXPERIMENT}' of method 'bridge' has a 'sdedit' section"
    assert expected in result.stdout, output_tail(result)


def test_config_rejects_training_with_models_from(tmp_path):
    config = combined_config()
    sdedit = next(entry for entry in config["experiments"] if entry["name"] == SDEDIT_EXPERIMENT)
    sdedit["training"] = {"steps": 5}
    configfile = write_config(tmp_path / "config.yaml", config)

    result = run_snakemake(tmp_path, configfile, "-n")

    assert result.returncode != 0, output_tail(result)
    assert "so its training settings would be ignored" in result.stdout, output_tail(result)


def test_config_rejects_unknown_models_from_with_training(tmp_path):
    config = combined_config()
    sdedit = next(entry for entry in config["experiments"] if entry["name"] == SDEDIT_EXPERIMENT)
    sdedit["models_from"] = "missing"
    sdedit["training"] = {"steps": 5}
    configfile = write_config(tmp_path / "config.yaml", config)

    result = run_snakemake(tmp_path, configfile, "-n")

    assert result.returncode != 0, output_tail(result)
    assert "has models_from 'missing', which is not another experiment" in result.stdout, (
        output_tail(result)
    )


def test_config_rejects_experiment_name_of_wrong_type(tmp_path):
    config = combined_config()
    bridge = next(entry for entry in config["experiments"] if entry["name"] == BRIDGE_EXPERIMENT)
    bridge["name"] = ["tiny", "bridge"]
    configfile = write_config(tmp_path / "config.yaml", config)

    result = run_snakemake(tmp_path, configfile, "-n")

    assert result.returncode != 0, output_tail(result)
    assert "['tiny', 'bridge'] is not of type 'string'" in result.stdout, output_tail(result)
    assert "TypeError" not in result.stdout, output_tail(result)


def test_config_rejects_method_on_paired_task(tmp_path):
    config = tiny_config(SYNTHETIC_DATASET, "paired_with_method")
    config["experiments"][0]["method"] = "bridge"
    configfile = write_config(tmp_path / "config.yaml", config)

    result = run_snakemake(tmp_path, configfile, "-n")

    assert result.returncode != 0, output_tail(result)
    assert "has method 'bridge', which task 'paired' does not support" in result.stdout, output_tail(
        result
    )


@pytest.mark.integration
def test_gradient_checkpointing_reruns_training(combined_run, tmp_path):
    workdir, configfile = combined_run
    config = yaml.safe_load(configfile.read_text(encoding="utf-8"))
    changed = copy.deepcopy(config)
    experiment = next(entry for entry in changed["experiments"] if entry["task"] == "unpaired")
    experiment["unpaired"]["gradient_checkpointing"] = True

    result = run_ok(
        workdir, write_config(tmp_path / "checkpointing.yaml", changed), "-n", "--quiet", "rules"
    )

    jobs = planned_jobs(result.stdout)
    assert jobs.get("train_unpaired") == 1, f"train_unpaired is not rerun: {jobs}"
    # Only the unpaired experiment's sampling runs follow its new models.
    assert jobs.get("sample") == len(DIRECTIONS) * len(N_STEPS), jobs
    assert jobs.get("reconstruct") == len(DIRECTIONS), jobs
    for rule in (
        "train_paired",
        "train_domain_models",
        "translate_bridge",
        "translate_sdedit",
        "generate_synthetic_maps",
        "generate_synthetic_horse2zebra",
        "prepare_paired_split",
        "prepare_unpaired_split",
    ):
        assert rule not in jobs, f"{rule} is rerun after gradient_checkpointing changed: {jobs}"


@pytest.fixture
def horse2zebra_server():
    """Serve the folder of the horse2zebra sample archive on 127.0.0.1 and yield the server."""
    if not HORSE2ZEBRA_SAMPLE.is_file():
        pytest.skip(f"sample archive not found at {HORSE2ZEBRA_SAMPLE}")
    handler = functools.partial(RecordingHandler, directory=str(HORSE2ZEBRA_SAMPLE.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.mark.integration
def test_horse2zebra_archive_over_http(horse2zebra_server, tmp_path):
    port = horse2zebra_server.server_address[1]
    dataset_name = "horse2zebra_sample"
    experiment = "tiny_horse2zebra"
    dataset = {
        "name": dataset_name,
        "source": "url",
        "layout": "unpaired",
        "url": f"http://127.0.0.1:{port}/{HORSE2ZEBRA_SAMPLE.name}",
        "sha256": HORSE2ZEBRA_SAMPLE_SHA256,
        "splits": {"train": {"limit": 6}, "eval": {"limit": N_EVAL_IMAGES}},
    }
    # One N suffices here, and each sampling run costs a few seconds of process start-up.
    config = unpaired_config(dataset, experiment, n_steps=(HORSE2ZEBRA_N_STEPS,))
    configfile = write_config(tmp_path / "config.yaml", config)

    result = run_ok(tmp_path, configfile)

    assert ("GET", f"/{HORSE2ZEBRA_SAMPLE.name}") in horse2zebra_server.requests
    archive = tmp_path / "resources" / "archives" / dataset_name / HORSE2ZEBRA_SAMPLE.name
    assert archive.read_bytes() == HORSE2ZEBRA_SAMPLE.read_bytes()

    jobs = planned_jobs(result.stdout)
    assert (
        "plot_ssim_vs_steps" not in jobs
    ), f"ssim_vs_steps.png is requested without ground truth: {jobs}"
    assert (
        "plot_ssim_vs_nfe" not in jobs
    ), f"ssim_vs_nfe.png is requested without ground truth: {jobs}"
    assert "collect_unpaired_scores" not in jobs, jobs
    results = tmp_path / "results"
    assert not (results / "figures" / "ssim_vs_steps.png").exists()
    assert not (results / "figures" / "ssim_vs_nfe.png").exists()
    assert not (results / "metrics" / "unpaired_scores.csv").exists()

    ssim = pd.read_csv(results / "metrics" / "ssim.csv")
    assert list(ssim.columns) == SSIM_COLUMNS
    assert ssim.empty, f"ssim.csv has rows for a dataset without ground truth:\n{ssim}"

    assert_png(results / "figures" / "unpaired_translations.png")
    assert_png(results / "figures" / "training_loss.png")
    for direction in DIRECTIONS:
        reconstruction = (
            results / "experiments" / experiment / "reconstructions" / SAMPLER / direction
        ) / f"n{HORSE2ZEBRA_N_STEPS}.pt"
        assert reconstruction.is_file(), f"missing reconstruction {reconstruction}"


def test_config_rejects_unpaired_task_on_paired_dataset(tmp_path):
    config = tiny_config(SYNTHETIC_DATASET, "mismatched")
    config["experiments"][0]["task"] = "unpaired"
    configfile = write_config(tmp_path / "config.yaml", config)

    result = run_snakemake(tmp_path, configfile, "-n")

    assert result.returncode != 0
    assert "experiment 'mismatched'" in result.stdout, output_tail(result)
    assert "task 'unpaired'" in result.stdout, output_tail(result)
    assert "paired layout" in result.stdout, output_tail(result)


def test_config_rejects_unpaired_folders_on_paired_dataset(tmp_path):
    dataset = copy.deepcopy(SYNTHETIC_DATASET)
    dataset["splits"] = {"train": {"folder_a": "x"}}
    configfile = write_config(tmp_path / "config.yaml", tiny_config(dataset, "tiny_synthetic"))

    result = run_snakemake(tmp_path, configfile, "-n")

    assert result.returncode != 0, output_tail(result)
    assert "splits.train" in result.stdout, output_tail(result)
    assert "['folder_a']" in result.stdout, output_tail(result)
    assert "paired layout does not use" in result.stdout, output_tail(result)

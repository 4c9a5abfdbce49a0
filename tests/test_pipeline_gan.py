"""End-to-end test of the pix2pix and CycleGAN baselines in the Snakemake workflow.

One run trains a tiny score model and a tiny GAN for each task on synthetic data,
as test_pipeline.py does, and checks that the GAN translations are scored and
drawn beside the score models' translations.
"""

from __future__ import annotations

import pandas as pd
import pytest

from test_pipeline import (
    DIRECTIONS,
    SSIM_COLUMNS,
    SYNTHETIC_DATASET,
    assert_png,
    output_tail,
    planned_jobs,
    run_ok,
    run_snakemake,
    tiny_config,
    write_config,
)
from test_pipeline_unpaired import (
    SYNTHETIC_UNPAIRED_DATASET,
    UNPAIRED_SCORE_COLUMNS,
    unpaired_experiment,
)

N_STEPS = 2
TRAINING_STEPS = 4
PAIRED_EVAL_IMAGES = SYNTHETIC_DATASET["splits"]["eval"]["limit"]
UNPAIRED_EVAL_IMAGES = SYNTHETIC_UNPAIRED_DATASET["splits"]["eval"]["limit"]
TIMING_COLUMNS = [
    "experiment",
    "direction",
    "method",
    "sampler",
    "n_steps",
    "nfe_per_image",
    "n_images",
    "seconds",
    "seconds_per_image",
    "device",
]
TINY_GAN = {"generator_channels": 4, "discriminator_channels": 4, "residual_blocks": 1}
# The outputs that show the GANs beside the score models. Sample grids, dataset
# records and the loss figure are left out to keep the run short.
TARGETS = [
    "results/metrics/ssim_summary.csv",
    "results/metrics/unpaired_scores.csv",
    "results/figures/paired_translations.png",
    "results/figures/unpaired_translations.png",
    "results/figures/ssim_vs_steps.png",
]


def gan_experiment(name: str, method: str, task: str, dataset: str) -> dict:
    return {
        "name": name,
        "task": task,
        "method": method,
        "dataset": dataset,
        "image_size": 16,
        "gan": dict(TINY_GAN),
        "training": {
            "steps": TRAINING_STEPS,
            "batch_size": 2,
            "checkpoint_every": 2,
            "log_every": 1,
            "seed": 0,
        },
    }


def gan_config() -> dict:
    """Return a configuration with a score model and a GAN for each task, sampled at one N."""
    config = tiny_config(SYNTHETIC_DATASET, "tiny_paired")
    config["datasets"].append(SYNTHETIC_UNPAIRED_DATASET)
    paired = config["experiments"][0]
    paired["training"].update(steps=TRAINING_STEPS, warmup_steps=2, checkpoint_every=2)
    unpaired = unpaired_experiment("tiny_unpaired", SYNTHETIC_UNPAIRED_DATASET["name"])
    unpaired["training"]["steps"] = TRAINING_STEPS
    config["experiments"] += [
        unpaired,
        gan_experiment("tiny_pix2pix", "pix2pix", "paired", SYNTHETIC_DATASET["name"]),
        gan_experiment("tiny_cyclegan", "cyclegan", "unpaired", SYNTHETIC_UNPAIRED_DATASET["name"]),
    ]
    config["sampling"]["samplers"] = [{"name": "em", "n_steps": [N_STEPS]}]
    config["figures"] = {"grid_images": 2, "translation_images": 1}
    return config


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("gan_run")
    configfile = write_config(workdir / "config.yaml", gan_config())
    run_ok(workdir, configfile, *TARGETS)
    return workdir, configfile


@pytest.mark.integration
def test_gan_scores_in_metrics(gan_run):
    workdir, _ = gan_run
    metrics = workdir / "results" / "metrics"
    ssim = pd.read_csv(metrics / "ssim.csv")
    assert list(ssim.columns) == SSIM_COLUMNS

    for experiment, images in (
        ("tiny_pix2pix", PAIRED_EVAL_IMAGES),
        ("tiny_cyclegan", UNPAIRED_EVAL_IMAGES),
    ):
        rows = ssim[ssim["experiment"] == experiment]
        gan_rows = rows[rows["sampler"] == "gan"]
        assert set(gan_rows["n_steps"]) == {1}
        for direction in DIRECTIONS:
            assert len(gan_rows[gan_rows["direction"] == direction]) == images, experiment
        assert set(rows["sampler"]) == {"gan", "identity", "mean"}
        assert gan_rows["ssim"].between(-1, 1).all()

    summary = pd.read_csv(metrics / "ssim_summary.csv")
    gan_summary = summary[summary["sampler"] == "gan"]
    assert sorted(gan_summary["experiment"].unique()) == ["tiny_cyclegan", "tiny_pix2pix"]
    assert (gan_summary["n_steps"] == 1).all()
    assert len(gan_summary) == 2 * len(DIRECTIONS)

    scores = pd.read_csv(metrics / "unpaired_scores.csv")
    assert list(scores.columns) == UNPAIRED_SCORE_COLUMNS
    cyclegan = scores[(scores["experiment"] == "tiny_cyclegan") & (scores["sampler"] == "gan")]
    assert sorted(cyclegan["direction"]) == sorted(DIRECTIONS)
    assert (cyclegan["n_steps"] == 1).all()


@pytest.mark.integration
def test_gan_outputs_and_timing(gan_run):
    workdir, configfile = gan_run
    results = workdir / "results"
    for experiment in ("tiny_pix2pix", "tiny_cyclegan"):
        experiment_dir = results / "experiments" / experiment
        losses = pd.read_csv(experiment_dir / "training_loss.csv")
        assert list(losses.columns[:5]) == ["step", "loss", "loss_AtoB", "loss_BtoA", "lr"]
        assert losses["step"].tolist() == list(range(1, TRAINING_STEPS + 1))
        assert not (experiment_dir / "train_state").exists()
        assert (results / "benchmarks" / "train" / f"{experiment}.tsv").is_file()
        for direction in DIRECTIONS:
            assert (experiment_dir / "samples" / "gan" / direction / "n1.pt").is_file()
            timing = pd.read_csv(experiment_dir / "timing" / f"gan_{direction}.csv")
            assert list(timing.columns) == TIMING_COLUMNS
            assert timing.loc[0, "seconds_per_image"] > 0
            assert timing.loc[0, "nfe_per_image"] == 1
            benchmark = results / "benchmarks" / "sample" / experiment / f"gan_{direction}_n1.tsv"
            assert benchmark.is_file(), f"missing benchmark {benchmark}"

    for figure in ("paired_translations", "unpaired_translations", "ssim_vs_steps"):
        assert_png(results / "figures" / f"{figure}.png")

    result = run_ok(workdir, configfile, "-n", *TARGETS)
    assert "Nothing to be done" in result.stdout, output_tail(result)


@pytest.mark.integration
def test_gan_translations_feed_figures(gan_run):
    workdir, configfile = gan_run

    result = run_ok(
        workdir, configfile, "-n", *TARGETS, "--quiet", "rules", "--forcerun", "translate_gan"
    )

    jobs = planned_jobs(result.stdout)
    assert jobs.get("translate_gan") == 2 * len(DIRECTIONS), jobs
    for rule in ("plot_paired_translations", "plot_unpaired_translations", "plot_ssim_vs_steps"):
        assert rule in jobs, f"{rule} does not read the GAN translations: {jobs}"
    for rule in ("sample", "reconstruct", "train_paired", "train_unpaired"):
        assert rule not in jobs, f"{rule} is rerun for new GAN translations: {jobs}"


def test_config_rejects_pix2pix_on_unpaired_task(tmp_path):
    config = gan_config()
    config["experiments"][-1]["method"] = "pix2pix"
    configfile = write_config(tmp_path / "config.yaml", config)

    result = run_snakemake(tmp_path, configfile, "-n")

    assert result.returncode != 0
    assert "experiment 'tiny_cyclegan' has method 'pix2pix'" in result.stdout, output_tail(result)
    assert "task 'unpaired' does not support" in result.stdout, output_tail(result)


def test_config_rejects_unread_gan_training_keys(tmp_path):
    config = gan_config()
    config["experiments"][-1]["training"]["lr"] = 0.001
    configfile = write_config(tmp_path / "config.yaml", config)

    result = run_snakemake(tmp_path, configfile, "-n")

    assert result.returncode != 0
    expected = "experiment 'tiny_cyclegan' of method 'cyclegan' sets training keys ['lr']"
    assert expected in result.stdout, output_tail(result)


def test_config_rejects_gan_models_from(tmp_path):
    config = gan_config()
    config["experiments"][-1]["models_from"] = "tiny_unpaired"
    configfile = write_config(tmp_path / "config.yaml", config)

    result = run_snakemake(tmp_path, configfile, "-n")

    assert result.returncode != 0
    # The method error, not a request to move the training settings to another experiment.
    expected = "experiment 'tiny_cyclegan' has models_from but method 'cyclegan'"
    assert expected in result.stdout, output_tail(result)

import os
import posixpath
import sys
import urllib.parse
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.20")


validate(config, schema="../schemas/config.schema.yaml")

LIB = Path(workflow.basedir) / "lib"
# Scripts import the workflow's own copy of the core package, also on cluster
# nodes and in conda environments where it is not installed.
sys.path.insert(0, str(LIB))
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        part for part in (str(LIB), os.environ.get("PYTHONPATH", "")) if part
    )
)

DIRECTIONS = ["AtoB", "BtoA"]

# Split folders and domain names of each layout, for keys a configuration leaves out.
LAYOUT_DEFAULTS = {
    "paired": {
        "domains": ["satellite", "map"],
        "train": {"folder": "train", "limit": 128},
        "eval": {"folder": "val", "limit": 16},
    },
    "unpaired": {
        "domains": ["horse", "zebra"],
        "train": {"folder_a": "trainA", "folder_b": "trainB", "limit": 128},
        "eval": {"folder_a": "testA", "folder_b": "testB", "limit": 16},
    },
}
# The synthetic unpaired generator writes the other-domain rendering of each
# test image here.
SYNTHETIC_COUNTERPARTS = {
    "counterpart_a": "groundtruth/testA",
    "counterpart_b": "groundtruth/testB",
}


def with_layout_defaults(dataset):
    """Return the dataset entry with the domain names and split folders of its layout filled in."""
    defaults = LAYOUT_DEFAULTS[dataset["layout"]]
    dataset.setdefault("domains", list(defaults["domains"]))
    splits = dataset.setdefault("splits", {})
    foreign = ("folder_a", "folder_b", "counterpart_a", "counterpart_b")
    if dataset["layout"] == "unpaired":
        foreign = ("folder",)
    for role in ("train", "eval"):
        unused = [key for key in foreign if key in splits.get(role, {})]
        if unused:
            raise ValueError(
                f"config: splits.{role} of dataset {dataset['name']!r} has the keys {unused}, "
                f"which the {dataset['layout']} layout does not use; remove them or set layout"
            )
        split = {**defaults[role], **splits.get(role, {})}
        if dataset["layout"] == "unpaired":
            counterparts = SYNTHETIC_COUNTERPARTS if dataset["source"] == "synthetic" else {}
            for key in ("counterpart_a", "counterpart_b"):
                split.setdefault(key, counterparts.get(key) if role == "eval" else None)
        splits[role] = split
    return dataset


DATASETS = {dataset["name"]: with_layout_defaults(dataset) for dataset in config["datasets"]}
EXPERIMENTS = {experiment["name"]: experiment for experiment in config["experiments"]}
SAMPLER_ENTRIES = {entry["name"]: entry for entry in config["sampling"]["samplers"]}


def check_config():
    """Raise a ValueError for settings that the schema cannot express."""
    named_lists = (
        ("datasets", config["datasets"]),
        ("experiments", config["experiments"]),
        ("sampling.samplers", config["sampling"]["samplers"]),
    )
    for key, entries in named_lists:
        names = [entry["name"] for entry in entries]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"config: names in {key} must be unique, repeated: {repeated}")
    for dataset in config["datasets"]:
        if dataset["source"] == "url" and "url" not in dataset:
            raise ValueError(
                f"config: dataset {dataset['name']!r} has source: url but no url; add one"
            )
    if config["sde"]["beta_min"] >= config["sde"]["beta_max"]:
        raise ValueError(
            f"config: sde.beta_min ({config['sde']['beta_min']}) must be smaller than "
            f"sde.beta_max ({config['sde']['beta_max']})"
        )
    for experiment in config["experiments"]:
        levels = len(model_settings(experiment)["channel_mult"])
        if experiment["image_size"] % 2 ** (levels - 1):
            raise ValueError(
                f"config: experiment {experiment['name']!r} has image_size "
                f"{experiment['image_size']}, which its UNet's {levels} levels cannot halve "
                f"{levels - 1} times; use a larger image_size or fewer model.channel_mult entries"
            )
        if experiment["dataset"] not in DATASETS:
            raise ValueError(
                f"config: experiment {experiment['name']!r} uses dataset {experiment['dataset']!r}, "
                f"which is not among the datasets {sorted(DATASETS)}"
            )
        layout = DATASETS[experiment["dataset"]]["layout"]
        if experiment["task"] != layout:
            raise ValueError(
                f"config: experiment {experiment['name']!r} has task {experiment['task']!r} but its "
                f"dataset {experiment['dataset']!r} has the {layout} layout; use a dataset of the "
                f"{experiment['task']} layout"
            )
    check_sampler_entries()


def check_sampler_entries():
    """Raise a ValueError for sampler settings or NFE budgets that the sampler rejects."""
    from sdetranslate.sampling import get_sampler

    for name, entry in SAMPLER_ENTRIES.items():
        spec = get_sampler(name)
        settings = sampler_settings(name)
        try:
            spec.check_settings(settings)
            for n_steps in entry["n_steps"]:
                spec.nfe(n_steps, **settings)
        except ValueError as error:
            raise ValueError(f"config: sampling.samplers entry {name!r}: {error}") from error


def sampler_settings(sampler):
    """Return the keyword settings of a configured sampler, empty when the entry has none."""
    return dict(SAMPLER_ENTRIES[sampler].get("settings") or {})


def name_pattern(names):
    """Return a regex matching exactly the given names, or nothing when there are none."""
    return "|".join(sorted(names)) if names else "(?!)"


wildcard_constraints:
    experiment=name_pattern(EXPERIMENTS),
    direction="|".join(DIRECTIONS),
    sampler=name_pattern(SAMPLER_ENTRIES),
    n_steps=r"[1-9][0-9]*",
    size=r"[1-9][0-9]*",
    role="train|eval",


def lib_files(*modules):
    """Return the paths of core modules, declared as inputs so that editing one reruns the rules using it."""
    return [str(LIB / "sdetranslate" / f"{module}.py") for module in modules]


def datasets_where(**settings):
    """Return the names of datasets whose entries have all the given values."""
    return [
        name
        for name, dataset in DATASETS.items()
        if all(dataset[key] == value for key, value in settings.items())
    ]


def experiments_with_task(task):
    return [name for name, experiment in EXPERIMENTS.items() if experiment["task"] == task]


def archive_name(dataset):
    """Return the archive's file name: the `archive` key, or the last part of the URL."""
    if "archive" in dataset:
        return dataset["archive"]
    name = posixpath.basename(urllib.parse.urlsplit(dataset["url"]).path)
    if not name:
        raise ValueError(
            f"config: cannot tell an archive name from the url of dataset {dataset['name']!r}; "
            "set its `archive` key"
        )
    return name


def archive_path(wildcards):
    dataset = DATASETS[wildcards.dataset]
    return f"resources/archives/{dataset['name']}/{archive_name(dataset)}"


def model_settings(experiment):
    """Return the resolved UNet settings of an experiment: its preset, then its overrides."""
    from sdetranslate.unet import unet_config_from_preset

    overrides = {
        key: value
        for key, value in experiment["model"].items()
        if key not in ("preset", "sigma_data")
    }
    resolved = unet_config_from_preset(
        experiment["model"]["preset"], experiment["image_size"], **overrides
    )
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in resolved.to_dict().items()
    }


def prepared_split(experiment_name, role):
    experiment = EXPERIMENTS[experiment_name]
    return f"results/data/{experiment['dataset']}/{experiment['image_size']}px/{role}.pt"


def experiment_dir(experiment_name):
    return f"results/experiments/{experiment_name}"


def sample_file(experiment, sampler, direction, n_steps):
    return f"{experiment_dir(experiment)}/samples/{sampler}/{direction}/n{n_steps}.pt"


def score_file(experiment, sampler, direction, n_steps):
    return f"{experiment_dir(experiment)}/scores/{sampler}/{direction}/n{n_steps}.csv"


def sample_grid_file(experiment, sampler, direction, n_steps):
    return f"results/figures/samples/{experiment}/{sampler}_{direction}_n{n_steps}.png"


def evaluation_runs():
    """Yield (experiment, sampler, direction, n_steps) for every evaluation sampling run.

    n_steps is an NFE budget of the sampler's config entry.
    """
    for experiment in EXPERIMENTS:
        for sampler, entry in SAMPLER_ENTRIES.items():
            for direction in DIRECTIONS:
                for n_steps in entry["n_steps"]:
                    yield experiment, sampler, direction, n_steps


def score_files():
    runs = [score_file(*run) for run in evaluation_runs()]
    baselines = [
        f"{experiment_dir(experiment)}/scores/baselines/{direction}.csv"
        for experiment in EXPERIMENTS
        for direction in DIRECTIONS
    ]
    return runs + baselines


def opposite(direction):
    return "BtoA" if direction == "AtoB" else "AtoB"


def figure_runs(task):
    """Return (experiment, sampler, direction, n_steps) of the figure runs of a task's experiments.

    The figures show the largest budget of the first sampler.
    """
    sampler = config["sampling"]["samplers"][0]["name"]
    n_steps = max(SAMPLER_ENTRIES[sampler]["n_steps"])
    return [
        (experiment, sampler, direction, n_steps)
        for experiment in experiments_with_task(task)
        for direction in DIRECTIONS
    ]


def translation_figure_entries(task="paired"):
    """Return the inputs of the translation figure of a task, one entry per experiment and direction."""
    entries = []
    for experiment, sampler, direction, n_steps in figure_runs(task):
        entry = {
            "experiment": experiment,
            "direction": direction,
            "n_steps": n_steps,
            "samples_path": sample_file(experiment, sampler, direction, n_steps),
            "data_path": prepared_split(experiment, "eval"),
        }
        if task == "unpaired":
            entry["reconstruction_path"] = (
                f"{experiment_dir(experiment)}/reconstructions/{sampler}/{direction}/n{n_steps}.pt"
            )
        entries.append(entry)
    return entries


def comparison_runs():
    """Return (sampler, n_steps) of the sampler comparison's columns.

    Each configured sampler contributes its smallest and largest budget.
    """
    runs = []
    for sampler, entry in SAMPLER_ENTRIES.items():
        for n_steps in sorted({min(entry["n_steps"]), max(entry["n_steps"])}):
            runs.append((sampler, n_steps))
    return runs


def sampler_comparison_entries():
    """Return the inputs of the sampler comparison figure, one entry per experiment and direction."""
    labels = direction_labels()
    return [
        {
            "label": f"{experiment}\n{labels[f'{experiment}/{direction}']}",
            "data_path": prepared_split(experiment, "eval"),
            "samples_paths": [
                sample_file(experiment, sampler, direction, n_steps)
                for sampler, n_steps in comparison_runs()
            ],
        }
        for experiment in EXPERIMENTS
        for direction in DIRECTIONS
    ]


def stripe_scored_experiments():
    """Return the unpaired experiments on synthetic data, whose stripes and object masks can be scored."""
    return [
        name
        for name in experiments_with_task("unpaired")
        if DATASETS[EXPERIMENTS[name]["dataset"]]["source"] == "synthetic"
    ]


def unpaired_score_files():
    runs = [
        f"{experiment_dir(experiment)}/unpaired_scores/{sampler}/{direction}/n{n_steps}.csv"
        for experiment, sampler, direction, n_steps in evaluation_runs()
        if experiment in stripe_scored_experiments()
    ]
    identity = [
        f"{experiment_dir(experiment)}/unpaired_scores/identity/{direction}.csv"
        for experiment in stripe_scored_experiments()
        for direction in DIRECTIONS
    ]
    return runs + identity


def direction_labels():
    """Return labels such as 'satellite → map' keyed by 'experiment/direction'.

    Plain direction keys are added when all experiments agree on their label.
    """
    labels = {}
    for name, experiment in EXPERIMENTS.items():
        domain_a, domain_b = DATASETS[experiment["dataset"]]["domains"]
        labels[f"{name}/AtoB"] = f"{domain_a} → {domain_b}"
        labels[f"{name}/BtoA"] = f"{domain_b} → {domain_a}"
    for direction in DIRECTIONS:
        values = {labels[f"{name}/{direction}"] for name in EXPERIMENTS}
        if len(values) == 1:
            labels[direction] = values.pop()
    return labels


def has_ground_truth(experiment_name):
    """Return whether translations of an experiment can be compared with ground truth images."""
    dataset = DATASETS[EXPERIMENTS[experiment_name]["dataset"]]
    return dataset["layout"] == "paired" or bool(dataset["splits"]["eval"]["counterpart_a"])


def all_outputs():
    outputs = [
        "results/metrics/ssim.csv",
        "results/metrics/ssim_summary.csv",
        "results/figures/training_loss.png",
    ]
    if any(has_ground_truth(name) for name in EXPERIMENTS):
        outputs.append("results/figures/ssim_vs_steps.png")
        outputs.append("results/figures/ssim_vs_nfe.png")
    if EXPERIMENTS:
        outputs.append("results/figures/sampler_comparison.png")
    if experiments_with_task("paired"):
        outputs.append("results/figures/paired_translations.png")
    if experiments_with_task("unpaired"):
        outputs.append("results/figures/unpaired_translations.png")
    if stripe_scored_experiments():
        outputs.append("results/metrics/unpaired_scores.csv")
    for dataset in sorted({experiment["dataset"] for experiment in EXPERIMENTS.values()}):
        outputs.append(f"results/datasets/{dataset}/manifest.csv")
        outputs.append(f"results/datasets/{dataset}/rejected.csv")
    return outputs + [sample_grid_file(*run) for run in evaluation_runs()]


def split_folders(dataset_name):
    """Return the folders of the training and evaluation splits, which every dataset root must contain."""
    dataset = DATASETS[dataset_name]
    keys = ("folder",) if dataset["layout"] == "paired" else ("folder_a", "folder_b")
    return [dataset["splits"][role][key] for role in ("train", "eval") for key in keys]


check_config()

import os
import posixpath
import sys
import urllib.parse
from pathlib import Path

import yaml
from snakemake.utils import min_version, validate

min_version("9.20")


# The sections each experiment sets itself and the keys of its own `training` section,
# recorded before the schema fills in defaults. Entries of the wrong type are left to the
# schema validation, which names them.
GIVEN_EXPERIMENTS = [
    experiment
    for experiment in (
        config.get("experiments") if isinstance(config.get("experiments"), list) else []
    )
    if isinstance(experiment, dict) and isinstance(experiment.get("name"), str)
]
GIVEN_SECTIONS = {experiment.get("name"): set(experiment) for experiment in GIVEN_EXPERIMENTS}
GIVEN_TRAINING_KEYS = {
    experiment.get("name"): set(experiment.get("training") or {})
    for experiment in GIVEN_EXPERIMENTS
    if isinstance(experiment.get("training") or {}, dict)
}

validate(config, schema="../schemas/config.schema.yaml")


def whole_numbers_as_int(value, schema, root):
    """Return `value` with floats such as 3.0 turned into ints wherever the schema asks for an integer.

    JSON Schema accepts 3.0 as an integer, but file names and loop counts built
    from it would read "3.0".
    """
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if isinstance(value, float) and "integer" in types and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key in value:
            if key in properties:
                value[key] = whole_numbers_as_int(value[key], properties[key], root)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        value[:] = [whole_numbers_as_int(item, schema["items"], root) for item in value]
    return value


with open(Path(workflow.basedir) / "schemas" / "config.schema.yaml", encoding="utf-8") as handle:
    CONFIG_SCHEMA = yaml.safe_load(handle)
whole_numbers_as_int(config, CONFIG_SCHEMA, CONFIG_SCHEMA)

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

# GAN baselines: the task each method needs and its name in figures.
GAN_METHODS = {"pix2pix": "paired", "cyclegan": "unpaired"}
GAN_LABELS = {"pix2pix": "pix2pix", "cyclegan": "CycleGAN"}
# Score-model methods, by task; an experiment without `method` uses its task's first
# one. `score` and `cycle` train two conditional models, one per direction; `bridge`
# and `sdedit` train two unconditional models, one per domain.
DIFFUSION_METHODS = {"paired": ["score"], "unpaired": ["cycle", "bridge", "sdedit"]}
DOMAIN_MODEL_METHODS = ["bridge", "sdedit"]
DOMAIN_KEYS = ["A", "B"]
# Experiment sections that only some methods read.
METHOD_SECTIONS = {
    "model": ["score", "cycle", "bridge", "sdedit"],
    "unpaired": ["cycle"],
    "bridge": ["bridge"],
    "sdedit": ["sdedit"],
    "gan": list(GAN_METHODS),
}
# The sampler name and N of GAN translations in sample files and score tables.
GAN_SAMPLER = "gan"
GAN_N_STEPS = 1


def experiment_method(experiment_name):
    """Return an experiment's method: its `method` key, or the score-model method of its task."""
    experiment = EXPERIMENTS[experiment_name]
    return experiment.get("method") or DIFFUSION_METHODS[experiment["task"]][0]


def experiments_with_method(*methods):
    return [name for name in EXPERIMENTS if experiment_method(name) in methods]


def is_gan(experiment_name):
    return experiment_method(experiment_name) in GAN_METHODS


def gan_experiments(method=None):
    """Return the GAN baseline experiments, or those of one method."""
    return [
        name
        for name in EXPERIMENTS
        if is_gan(name) and (method is None or experiment_method(name) == method)
    ]


def gan_generator_settings():
    """Return the generator of each GAN experiment, by name, for timing in the profiling rule."""
    generators = {}
    for name in gan_experiments():
        gan = EXPERIMENTS[name]["gan"]
        if experiment_method(name) == "pix2pix":
            generators[name] = {
                "architecture": "unet",
                "base_channels": gan["generator_channels"],
                "dropout": gan["dropout"],
            }
        else:
            generators[name] = {
                "architecture": "resnet",
                "base_channels": gan["generator_channels"],
                "n_blocks": gan["residual_blocks"],
            }
    return generators


def diffusion_experiments(task=None):
    """Return the experiments that train score models, or those of one task."""
    names = EXPERIMENTS if task is None else experiments_with_task(task)
    return [name for name in names if not is_gan(name)]


def conditional_experiments():
    """Return the experiments whose score models are conditional, one per direction."""
    return experiments_with_method("score", "cycle")


def domain_model_owner(name):
    """Return the experiment that trains the per-domain models that experiment `name` uses."""
    return EXPERIMENTS[name].get("models_from") or name


def domain_model_files(name):
    owner = domain_model_owner(name)
    return [f"results/experiments/{owner}/models/{domain}.pt" for domain in DOMAIN_KEYS]


def training_experiments():
    """Return the experiments that train models of their own, in configuration order."""
    return [
        name
        for name in EXPERIMENTS
        if name in conditional_experiments() or is_gan(name) or domain_model_owner(name) == name
    ]


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
        method = experiment_method(experiment["name"])
        allowed = [*DIFFUSION_METHODS[experiment["task"]]]
        allowed += [name for name, task in GAN_METHODS.items() if task == experiment["task"]]
        if method not in allowed:
            raise ValueError(
                f"config: experiment {experiment['name']!r} has method {method!r}, which task "
                f"{experiment['task']!r} does not support; use one of {allowed}"
            )
        # GAN baselines do not use the UNet settings.
        levels = len(model_settings(experiment)["channel_mult"])
        if method not in GAN_METHODS and experiment["image_size"] % 2 ** (levels - 1):
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
        check_method_settings(experiment)
    check_sampler_entries()


def check_sdedit_times(experiment):
    """Raise a ValueError for SDEdit start times t0 that are not distinct hundredths above eps."""
    from sdetranslate.bridges import sdedit_sampler_name

    name, eps = experiment["name"], config["sde"]["eps"]
    names = []
    for t0 in experiment["sdedit"]["t0"]:
        if t0 <= eps:
            raise ValueError(
                f"config: experiment {name!r} has sdedit.t0 {t0}, which is not above sde.eps = {eps}; "
                "use start times above eps"
            )
        try:
            names.append(sdedit_sampler_name(t0))
        except ValueError as error:
            raise ValueError(f"config: experiment {name!r}, sdedit.t0: {error}") from error
    if len(set(names)) < len(names):
        raise ValueError(
            f"config: experiment {name!r} has sdedit.t0 values {experiment['sdedit']['t0']} that "
            "round to the same hundredth; list each start time once"
        )


def check_gan_training_keys(experiment):
    """Raise a ValueError for `training` keys that a GAN baseline experiment sets but does not read."""
    from sdetranslate.gan_training import GAN_TRAINING_KEYS

    name = experiment["name"]
    ignored = sorted(GIVEN_TRAINING_KEYS.get(name, set()) - set(GAN_TRAINING_KEYS))
    if ignored:
        raise ValueError(
            f"config: experiment {name!r} of method {experiment_method(name)!r} sets training "
            f"keys {ignored}, but GAN baselines read only {list(GAN_TRAINING_KEYS)} of training; "
            "remove them, and set the GAN's Adam settings in its gan section"
        )


def check_method_settings(experiment):
    """Raise a ValueError for a method or models_from setting that does not fit the experiment."""
    name = experiment["name"]
    method = experiment_method(name)
    given = GIVEN_SECTIONS.get(name, set())
    for section, methods in METHOD_SECTIONS.items():
        if section in given and method not in methods:
            raise ValueError(
                f"config: experiment {name!r} of method {method!r} has a {section!r} section, "
                f"which only the methods {methods} read; remove it or change the method"
            )
    if method in GAN_METHODS:
        check_gan_training_keys(experiment)
    if method == "sdedit":
        check_sdedit_times(experiment)
    if "models_from" not in experiment:
        return
    owner = EXPERIMENTS.get(experiment["models_from"])
    if experiment_method(name) not in DOMAIN_MODEL_METHODS:
        raise ValueError(
            f"config: experiment {name!r} has models_from but method "
            f"{experiment_method(name)!r}; only the methods {DOMAIN_MODEL_METHODS} use per-domain models"
        )
    if (
        owner is None
        or owner["name"] == name
        or experiment_method(owner["name"]) not in DOMAIN_MODEL_METHODS
        or "models_from" in owner
    ):
        raise ValueError(
            f"config: experiment {name!r} has models_from {experiment['models_from']!r}, which is "
            f"not another experiment of method {' or '.join(DOMAIN_MODEL_METHODS)} that trains its own "
            "models; name one that does"
        )
    ignored = sorted(given & {"model", "training"})
    if ignored:
        raise ValueError(
            f"config: experiment {name!r} uses the models of {experiment['models_from']!r}, so its "
            f"{' and '.join(ignored)} settings would be ignored; set them on {experiment['models_from']!r}"
        )
    for key in ("dataset", "image_size"):
        if owner[key] != experiment[key]:
            raise ValueError(
                f"config: experiment {name!r} uses the models of {owner['name']!r}, but their "
                f"{key} values differ ({experiment[key]!r} and {owner[key]!r}); make them equal"
            )


def check_sampler_entries():
    """Raise a ValueError for sampler settings or NFE budgets that the sampler rejects."""
    from sdetranslate.sampling import get_sampler

    for name, entry in SAMPLER_ENTRIES.items():
        spec = get_sampler(name)
        settings = sampler_settings(name)
        try:
            spec.check_settings(settings)
            budgets_by_nfe = {}
            for n_steps in entry["n_steps"]:
                nfe = spec.nfe(n_steps, **settings)
                if nfe in budgets_by_nfe:
                    raise ValueError(
                        f"NFE budgets {budgets_by_nfe[nfe]} and {n_steps} both spend {nfe} network "
                        "evaluations per image, so they give the same translations; keep one"
                    )
                budgets_by_nfe[nfe] = n_steps
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
    sampler=r"[A-Za-z0-9_]+",
    n_steps=r"[1-9][0-9]*",
    size=r"[1-9][0-9]*",
    role="train|eval",


def lib_files(*modules):
    """Return the paths of core modules, declared as inputs so that editing one reruns the rules using it."""
    return [str(LIB / "sdetranslate" / f"{module}.py") for module in modules]


def per_attempt(first):
    """Return a resource function that gives `first` on attempt 1, twice as much on attempt 2, and so on.

    A job that Slurm kills at its time or memory limit is resubmitted (the
    profile's `retries`) with a larger request. `runtime` is in minutes and
    `mem_mb` in megabytes.
    """
    return lambda wildcards, attempt: first * attempt


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


def archive_record_path(wildcards):
    """Return the record that the download rule writes beside a checked archive."""
    return f"{archive_path(wildcards)}.verified"


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


def sample_grids(experiment):
    """Return the sample grids of an experiment: each run's sample file and the grid's PNG name."""
    return [
        {"samples": sample_file(*run), "name": f"{run[1]}_{run[2]}_n{run[3]}.png"}
        for run in evaluation_runs()
        if run[0] == experiment
    ]


def experiment_runs(name):
    """Return (sampler, n_steps) of every evaluation run of an experiment, in each direction.

    The conditional experiments run every sampler at every N of `sampling`. A bridge
    experiment has one run, named `bridge`, whose n_steps is the network evaluations of
    one translation. An SDEdit experiment has one run per t0, named like `sdedit_t050`.
    """
    from sdetranslate.bridges import bridge_nfe, sdedit_sampler_name

    experiment = EXPERIMENTS[name]
    method = experiment_method(name)
    if is_gan(name):
        return [(GAN_SAMPLER, GAN_N_STEPS)]
    if method == "bridge":
        settings = experiment["bridge"]
        return [("bridge", bridge_nfe(settings["encode_nfe"], settings["decode_nfe"]))]
    if method == "sdedit":
        settings = experiment["sdedit"]
        return [(sdedit_sampler_name(t0), settings["n_steps"]) for t0 in settings["t0"]]
    return [
        (sampler, n_steps)
        for sampler, entry in SAMPLER_ENTRIES.items()
        for n_steps in entry["n_steps"]
    ]


def evaluation_runs():
    """Yield (experiment, sampler, direction, n_steps) for every evaluation translation run.

    A GAN experiment has one run per direction, with sampler "gan" and n_steps 1.
    For score models n_steps is an NFE budget of the sampler's config entry.
    """
    for experiment in EXPERIMENTS:
        for sampler, n_steps in experiment_runs(experiment):
            for direction in DIRECTIONS:
                yield experiment, sampler, direction, n_steps


def experiment_sample_files(experiment):
    """Return the sample files of every evaluation run of an experiment."""
    return [sample_file(*run) for run in evaluation_runs() if run[0] == experiment]


def score_files():
    return [f"{experiment_dir(experiment)}/scores.csv" for experiment in EXPERIMENTS]


def opposite(direction):
    return "BtoA" if direction == "AtoB" else "AtoB"


def first_sampler_run():
    """Return (sampler, n_steps) of the run that translation figures show: the first sampler's largest budget."""
    sampler = config["sampling"]["samplers"][0]["name"]
    return sampler, max(SAMPLER_ENTRIES[sampler]["n_steps"])


def figure_runs(task):
    """Return (experiment, sampler, direction, n_steps) of the figure runs of a task's conditional score models.

    The figures show the largest budget of the first sampler. The unpaired task's
    conditional experiments are those of the cycle-consistent method.
    """
    sampler, n_steps = first_sampler_run()
    return [
        (experiment, sampler, direction, n_steps)
        for experiment in experiments_with_task(task)
        if experiment in conditional_experiments()
        for direction in DIRECTIONS
    ]


def gan_baselines_for(experiment_name, direction):
    """Return the GAN translations shown beside a score model's in the translation figures.

    They are those of the GAN experiments with the same dataset and image size,
    whose evaluation split is the same file. The label is the method's name,
    followed by the experiment's when one method has several such experiments.
    """
    experiment = EXPERIMENTS[experiment_name]
    matches = [
        name
        for name in gan_experiments()
        if EXPERIMENTS[name]["dataset"] == experiment["dataset"]
        and EXPERIMENTS[name]["image_size"] == experiment["image_size"]
    ]
    methods = [experiment_method(name) for name in matches]
    baselines = []
    for name, method in zip(matches, methods):
        label = GAN_LABELS[method]
        if methods.count(method) > 1:
            label += f" ({name})"
        baselines.append(
            {
                "label": label,
                "samples_path": sample_file(name, GAN_SAMPLER, direction, GAN_N_STEPS),
            }
        )
    return baselines


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
            "baselines": gan_baselines_for(experiment, direction),
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
        for experiment in conditional_experiments()
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
    return [
        f"{experiment_dir(experiment)}/unpaired_scores.csv"
        for experiment in stripe_scored_experiments()
    ]


# Columns of unpaired_comparison.png: the unpaired methods in order, with their titles.
COMPARISON_TITLES = {
    "cycle": "cycle-consistent",
    "bridge": "bridge (DDIB)",
    "sdedit": "SDEdit",
    "cyclegan": "CycleGAN",
}


def comparison_run(name):
    """Return (sampler, n_steps) of the run of an experiment that unpaired_comparison.png shows.

    The cycle-consistent method shows the largest N of the first sampler, and SDEdit the
    t0 nearest 0.5.
    """
    runs = experiment_runs(name)
    method = experiment_method(name)
    if method == "cycle":
        return first_sampler_run()
    if method == "sdedit":
        t0s = EXPERIMENTS[name]["sdedit"]["t0"]
        return runs[min(range(len(t0s)), key=lambda index: abs(t0s[index] - 0.5))]
    return runs[0]


def comparison_methods():
    """Return the unpaired methods that the configuration runs, in the order of COMPARISON_TITLES."""
    present = {experiment_method(name) for name in experiments_with_task("unpaired")}
    return [method for method in COMPARISON_TITLES if method in present]


def comparison_titles():
    titles = []
    for method in comparison_methods():
        title = COMPARISON_TITLES[method]
        if method == "sdedit":
            t0s = {
                int(comparison_run(name)[0].removeprefix("sdedit_t")) / 100
                for name in experiments_with_method("sdedit")
            }
            if len(t0s) == 1:
                title += f" t0 = {t0s.pop():g}"
        titles.append(title)
    return titles


def comparison_groups():
    """Return the row groups of unpaired_comparison.png: one per unpaired dataset and direction.

    Each method's column shows the first experiment of that method on the dataset, or
    nothing where the dataset has none.
    """
    groups = []
    unpaired = experiments_with_task("unpaired")
    for dataset in dict.fromkeys(EXPERIMENTS[name]["dataset"] for name in unpaired):
        on_dataset = [name for name in unpaired if EXPERIMENTS[name]["dataset"] == dataset]
        for direction in DIRECTIONS:
            paths = []
            for method in comparison_methods():
                names = [name for name in on_dataset if experiment_method(name) == method]
                if names:
                    sampler, n_steps = comparison_run(names[0])
                    paths.append(sample_file(names[0], sampler, direction, n_steps))
                else:
                    paths.append(None)
            first = on_dataset[0]
            groups.append(
                {
                    "label": f"{dataset}\n{direction_labels()[f'{first}/{direction}']}",
                    "data_path": prepared_split(first, "eval"),
                    "samples_paths": paths,
                }
            )
    return groups


def comparison_inputs():
    groups = comparison_groups()
    samples = [path for group in groups for path in group["samples_paths"] if path]
    return {"samples": samples, "data": sorted({group["data_path"] for group in groups})}


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


RUN_INFO_PAGE = "results/run_info.rst"


def current_code_version():
    """Return the git commit of the workflow's code, marked when tracked files have changes."""
    from sdetranslate.provenance import code_version

    return code_version(workflow.basedir)


def report_page():
    """Return the opening page of the HTML report: the run record once written, else a static page."""
    if os.path.exists(RUN_INFO_PAGE):
        return os.path.abspath(RUN_INFO_PAGE)
    return "../report/workflow.rst"


def figure_files(*names):
    """Return the PNG and PDF paths of figures in results/figures."""
    return [f"results/figures/{name}.{suffix}" for name in names for suffix in ("png", "pdf")]


def all_outputs():
    outputs = [
        "results/metrics/ssim.csv",
        "results/metrics/ssim_summary.csv",
        "results/run_info.yaml",
        *figure_files("training_loss"),
    ]
    if config["profiling"]["enabled"]:
        outputs += [
            "results/profiling/sampling_time.csv",
            "results/profiling/memory.csv",
            *figure_files("sampling_time", "memory"),
        ]
    if any(has_ground_truth(name) for name in EXPERIMENTS):
        outputs += figure_files("ssim_vs_steps", "ssim_vs_nfe")
    if conditional_experiments():
        outputs += figure_files("sampler_comparison")
    # The translation figures show GAN baselines beside score models, so they
    # need a conditional score-model experiment of their task.
    if figure_runs("paired"):
        outputs += figure_files("paired_translations")
    if figure_runs("unpaired"):
        outputs += figure_files("unpaired_translations")
    if experiments_with_method(*DOMAIN_MODEL_METHODS):
        outputs += figure_files("unpaired_comparison")
    if stripe_scored_experiments():
        outputs.append("results/metrics/unpaired_scores.csv")
        outputs += figure_files("unpaired_tradeoff")
    for dataset in sorted({experiment["dataset"] for experiment in EXPERIMENTS.values()}):
        outputs.append(f"results/datasets/{dataset}/manifest.csv")
        outputs.append(f"results/datasets/{dataset}/rejected.csv")
    outputs += [f"results/figures/samples/{experiment}" for experiment in EXPERIMENTS]
    return outputs


def translation_figure_inputs(task):
    """Return the sample files of a task's translation figure, the GAN baselines' included."""
    paths = []
    for entry in translation_figure_entries(task):
        paths.append(entry["samples_path"])
        paths += [baseline["samples_path"] for baseline in entry["baselines"]]
    return paths


def gan_training_settings(experiment_name):
    """Return the keys of an experiment's `training` section that the GAN trainers use."""
    from sdetranslate.gan_training import GAN_TRAINING_KEYS

    training = EXPERIMENTS[experiment_name]["training"]
    return {key: training[key] for key in GAN_TRAINING_KEYS if key in training}


def split_folders(dataset_name):
    """Return the folders of the training and evaluation splits, which every dataset root must contain."""
    dataset = DATASETS[dataset_name]
    keys = ("folder",) if dataset["layout"] == "paired" else ("folder_a", "folder_b")
    return [dataset["splits"][role][key] for role in ("train", "eval") for key in keys]


check_config()

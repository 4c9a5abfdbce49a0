rule train_pix2pix:
    input:
        train=lambda wildcards: prepared_split(wildcards.experiment, "train"),
        code=lib_files("gan_training", "gan", "training", "splits", "io", "runtime"),
    output:
        models=expand(
            "results/experiments/{{experiment}}/models/{direction}.pt",
            direction=DIRECTIONS,
        ),
        loss="results/experiments/{experiment}/training_loss.csv",
    log:
        "logs/train/{experiment}.log",
    benchmark:
        "results/benchmarks/train/{experiment}.tsv"
    wildcard_constraints:
        experiment=name_pattern(gan_experiments("pix2pix")),
    conda:
        "../envs/sdetranslate.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
        mem_mb=per_attempt(8000),
        runtime=per_attempt(120),
    params:
        image_size=lambda wildcards: EXPERIMENTS[wildcards.experiment]["image_size"],
        training=lambda wildcards: gan_training_settings(wildcards.experiment),
        gan=lambda wildcards: EXPERIMENTS[wildcards.experiment]["gan"],
        device=config["device"],
        state_dir=lambda wildcards: f"{experiment_dir(wildcards.experiment)}/train_state",
    script:
        "../workflow_scripts/train_pix2pix.py"


rule train_cyclegan:
    input:
        train=lambda wildcards: prepared_split(wildcards.experiment, "train"),
        code=lib_files("gan_training", "gan", "training", "splits", "io", "runtime"),
    output:
        models=expand(
            "results/experiments/{{experiment}}/models/{direction}.pt",
            direction=DIRECTIONS,
        ),
        loss="results/experiments/{experiment}/training_loss.csv",
    log:
        "logs/train/{experiment}.log",
    benchmark:
        "results/benchmarks/train/{experiment}.tsv"
    wildcard_constraints:
        experiment=name_pattern(gan_experiments("cyclegan")),
    conda:
        "../envs/sdetranslate.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
        mem_mb=per_attempt(8000),
        runtime=per_attempt(120),
    params:
        image_size=lambda wildcards: EXPERIMENTS[wildcards.experiment]["image_size"],
        training=lambda wildcards: gan_training_settings(wildcards.experiment),
        gan=lambda wildcards: EXPERIMENTS[wildcards.experiment]["gan"],
        device=config["device"],
        state_dir=lambda wildcards: f"{experiment_dir(wildcards.experiment)}/train_state",
    script:
        "../workflow_scripts/train_cyclegan.py"


# Writes the sample file that score_experiment, score_unpaired_experiment and the figures read
# for every translation run, with sampler "gan" and N = 1, and the generator's
# time per image.
rule translate_gan:
    input:
        model="results/experiments/{experiment}/models/{direction}.pt",
        data=lambda wildcards: prepared_split(wildcards.experiment, "eval"),
        code=lib_files("gan_training", "gan", "training", "splits", "io", "runtime"),
    output:
        samples="results/experiments/{experiment}/samples/gan/{direction}/n1.pt",
        timing="results/experiments/{experiment}/timing/gan_{direction}.csv",
    log:
        "logs/sample/{experiment}/gan_{direction}_n1.log",
    benchmark:
        "results/benchmarks/sample/{experiment}/gan_{direction}_n1.tsv"
    wildcard_constraints:
        experiment=name_pattern(gan_experiments()),
    conda:
        "../envs/sdetranslate.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        seed=config["sampling"]["seed"],
        device=config["device"],
    script:
        "../workflow_scripts/translate_gan.py"

rule train_paired:
    input:
        train=lambda wildcards: prepared_split(wildcards.experiment, "train"),
        code=lib_files("training", "unet", "sde", "score", "losses", "ema", "io", "runtime"),
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
        experiment=name_pattern(diffusion_experiments("paired")),
    conda:
        "../envs/sdetranslate.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
        mem_mb=per_attempt(8000),
        runtime=per_attempt(120),
    params:
        model=lambda wildcards: model_settings(EXPERIMENTS[wildcards.experiment]),
        sigma_data=lambda wildcards: EXPERIMENTS[wildcards.experiment]["model"]["sigma_data"],
        training=lambda wildcards: EXPERIMENTS[wildcards.experiment]["training"],
        sde=config["sde"],
        device=config["device"],
        precision=config["precision"],
        state_dir=lambda wildcards: f"{experiment_dir(wildcards.experiment)}/train_state",
    script:
        "../workflow_scripts/train_paired.py"


rule train_unpaired:
    input:
        train=lambda wildcards: prepared_split(wildcards.experiment, "train"),
        code=lib_files(
            "unpaired",
            "training",
            "sampling",
            "unet",
            "sde",
            "score",
            "losses",
            "ema",
            "io",
            "runtime",
        ),
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
        experiment=name_pattern(diffusion_experiments("unpaired")),
    conda:
        "../envs/sdetranslate.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
        mem_mb=per_attempt(8000),
        runtime=per_attempt(120),
    params:
        model=lambda wildcards: model_settings(EXPERIMENTS[wildcards.experiment]),
        sigma_data=lambda wildcards: EXPERIMENTS[wildcards.experiment]["model"]["sigma_data"],
        training=lambda wildcards: EXPERIMENTS[wildcards.experiment]["training"],
        unpaired=lambda wildcards: EXPERIMENTS[wildcards.experiment]["unpaired"],
        sde=config["sde"],
        device=config["device"],
        precision=config["precision"],
        state_dir=lambda wildcards: f"{experiment_dir(wildcards.experiment)}/train_state",
    script:
        "../workflow_scripts/train_unpaired.py"

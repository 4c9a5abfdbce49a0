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
        experiment=name_pattern(experiments_with_method("cycle")),
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


rule train_domain_models:
    input:
        train=lambda wildcards: prepared_split(wildcards.experiment, "train"),
        code=lib_files(
            "domain_models", "training", "unet", "sde", "score", "losses", "ema", "io", "runtime"
        ),
    output:
        models=expand(
            "results/experiments/{{experiment}}/models/{domain}.pt",
            domain=DOMAIN_KEYS,
        ),
        loss="results/experiments/{experiment}/training_loss.csv",
    log:
        "logs/train/{experiment}.log",
    benchmark:
        "results/benchmarks/train/{experiment}.tsv"
    wildcard_constraints:
        experiment=name_pattern(
            [
                name
                for name in experiments_with_method(*DOMAIN_MODEL_METHODS)
                if domain_model_owner(name) == name
            ]
        ),
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
        "../workflow_scripts/train_domain_models.py"

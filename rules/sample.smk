rule sample:
    input:
        model="results/experiments/{experiment}/models/{direction}.pt",
        data=lambda wildcards: prepared_split(wildcards.experiment, "eval"),
        code=lib_files(
            "translate", "splits", "sampling", "score", "sde", "unet", "training", "io", "runtime"
        ),
    output:
        "results/experiments/{experiment}/samples/{sampler}/{direction}/n{n_steps}.pt",
    log:
        "logs/sample/{experiment}/{sampler}_{direction}_n{n_steps}.log",
    benchmark:
        "results/benchmarks/sample/{experiment}/{sampler}_{direction}_n{n_steps}.tsv"
    wildcard_constraints:
        experiment=name_pattern(conditional_experiments()),
        sampler=name_pattern(SAMPLER_ENTRIES),
    conda:
        "../envs/sdetranslate.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        sampler=lambda wildcards: wildcards.sampler,
        settings=lambda wildcards: sampler_settings(wildcards.sampler),
        n_steps=lambda wildcards: int(wildcards.n_steps),
        seed=config["sampling"]["seed"],
        batch_size=config["sampling"]["batch_size"],
        device=config["device"],
        precision=config["precision"],
    script:
        "../workflow_scripts/sample.py"


rule reconstruct:
    input:
        samples="results/experiments/{experiment}/samples/{sampler}/{direction}/n{n_steps}.pt",
        model=lambda wildcards: f"results/experiments/{wildcards.experiment}/models/"
        f"{opposite(wildcards.direction)}.pt",
        code=lib_files("translate", "sampling", "score", "sde", "unet", "training", "io", "runtime"),
    output:
        "results/experiments/{experiment}/reconstructions/{sampler}/{direction}/n{n_steps}.pt",
    log:
        "logs/reconstruct/{experiment}/{sampler}_{direction}_n{n_steps}.log",
    benchmark:
        "results/benchmarks/reconstruct/{experiment}/{sampler}_{direction}_n{n_steps}.tsv"
    wildcard_constraints:
        experiment=name_pattern(experiments_with_method("cycle")),
        sampler=name_pattern(SAMPLER_ENTRIES),
    conda:
        "../envs/sdetranslate.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        model_direction=lambda wildcards: opposite(wildcards.direction),
        sampler=lambda wildcards: wildcards.sampler,
        settings=lambda wildcards: sampler_settings(wildcards.sampler),
        n_steps=lambda wildcards: int(wildcards.n_steps),
        seed=config["sampling"]["seed"],
        batch_size=config["sampling"]["batch_size"],
        device=config["device"],
        precision=config["precision"],
    script:
        "../workflow_scripts/reconstruct.py"


TRANSLATION_CODE = lib_files(
    "bridges",
    "domain_models",
    "translate",
    "splits",
    "sampling",
    "score",
    "sde",
    "unet",
    "training",
    "io",
    "runtime",
)


rule translate_bridge:
    input:
        models=lambda wildcards: domain_model_files(wildcards.experiment),
        data=lambda wildcards: prepared_split(wildcards.experiment, "eval"),
        code=TRANSLATION_CODE,
    output:
        "results/experiments/{experiment}/samples/bridge/{direction}/n{n_steps}.pt",
    log:
        "logs/sample/{experiment}/bridge_{direction}_n{n_steps}.log",
    benchmark:
        "results/benchmarks/sample/{experiment}/bridge_{direction}_n{n_steps}.tsv"
    wildcard_constraints:
        experiment=name_pattern(experiments_with_method("bridge")),
    conda:
        "../envs/sdetranslate.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        encode_nfe=lambda wildcards: EXPERIMENTS[wildcards.experiment]["bridge"]["encode_nfe"],
        decode_nfe=lambda wildcards: EXPERIMENTS[wildcards.experiment]["bridge"]["decode_nfe"],
        batch_size=config["sampling"]["batch_size"],
        device=config["device"],
        precision=config["precision"],
    script:
        "../workflow_scripts/translate_bridge.py"


rule translate_sdedit:
    input:
        models=lambda wildcards: domain_model_files(wildcards.experiment),
        data=lambda wildcards: prepared_split(wildcards.experiment, "eval"),
        code=TRANSLATION_CODE,
    output:
        "results/experiments/{experiment}/samples/sdedit_t{t0}/{direction}/n{n_steps}.pt",
    log:
        "logs/sample/{experiment}/sdedit_t{t0}_{direction}_n{n_steps}.log",
    benchmark:
        "results/benchmarks/sample/{experiment}/sdedit_t{t0}_{direction}_n{n_steps}.tsv"
    wildcard_constraints:
        experiment=name_pattern(experiments_with_method("sdedit")),
        t0="[0-9]{3}",
    conda:
        "../envs/sdetranslate.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        # The path gives t0 in hundredths, as sdetranslate.bridges.sdedit_sampler_name writes it.
        t0=lambda wildcards: int(wildcards.t0) / 100,
        n_steps=lambda wildcards: int(wildcards.n_steps),
        seed=config["sampling"]["seed"],
        batch_size=config["sampling"]["batch_size"],
        device=config["device"],
        precision=config["precision"],
    script:
        "../workflow_scripts/translate_sdedit.py"

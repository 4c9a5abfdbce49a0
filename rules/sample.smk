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
    conda:
        "../envs/sdetranslate.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        sampler=lambda wildcards: wildcards.sampler,
        settings=lambda wildcards: sampler_settings(wildcards.sampler),
        n_steps=lambda wildcards: int(wildcards.n_steps),
        seed=config["sampling"]["seed"],
        batch_size=config["sampling"]["batch_size"],
        device=config["device"],
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
    conda:
        "../envs/sdetranslate.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        model_direction=lambda wildcards: opposite(wildcards.direction),
        sampler=lambda wildcards: wildcards.sampler,
        settings=lambda wildcards: sampler_settings(wildcards.sampler),
        n_steps=lambda wildcards: int(wildcards.n_steps),
        seed=config["sampling"]["seed"],
        batch_size=config["sampling"]["batch_size"],
        device=config["device"],
    script:
        "../workflow_scripts/reconstruct.py"

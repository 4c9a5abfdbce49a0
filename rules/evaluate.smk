rule score_samples:
    input:
        samples="results/experiments/{experiment}/samples/{sampler}/{direction}/n{n_steps}.pt",
        data=lambda wildcards: prepared_split(wildcards.experiment, "eval"),
        code=lib_files("evaluation", "metrics", "io"),
    output:
        "results/experiments/{experiment}/scores/{sampler}/{direction}/n{n_steps}.csv",
    log:
        "logs/score/{experiment}/{sampler}_{direction}_n{n_steps}.log",
    conda:
        "../envs/sdetranslate.yaml"
    params:
        task=lambda wildcards: EXPERIMENTS[wildcards.experiment]["task"],
        dataset=lambda wildcards: EXPERIMENTS[wildcards.experiment]["dataset"],
        method=lambda wildcards: experiment_method(wildcards.experiment),
    script:
        "../workflow_scripts/score_samples.py"


rule score_baselines:
    input:
        eval=lambda wildcards: prepared_split(wildcards.experiment, "eval"),
        train=lambda wildcards: prepared_split(wildcards.experiment, "train"),
        code=lib_files("evaluation", "metrics", "io"),
    output:
        "results/experiments/{experiment}/scores/baselines/{direction}.csv",
    log:
        "logs/score/{experiment}/baselines_{direction}.log",
    conda:
        "../envs/sdetranslate.yaml"
    params:
        task=lambda wildcards: EXPERIMENTS[wildcards.experiment]["task"],
        dataset=lambda wildcards: EXPERIMENTS[wildcards.experiment]["dataset"],
        method=lambda wildcards: experiment_method(wildcards.experiment),
    script:
        "../workflow_scripts/score_baselines.py"


rule collect_metrics:
    input:
        scores=score_files(),
        code=lib_files("evaluation", "io"),
    output:
        ssim="results/metrics/ssim.csv",
        summary=report(
            "results/metrics/ssim_summary.csv",
            caption="../report/ssim_summary.rst",
            category="Metrics",
        ),
    log:
        "logs/collect_metrics.log",
    conda:
        "../envs/sdetranslate.yaml"
    script:
        "../workflow_scripts/collect_metrics.py"


rule score_unpaired:
    input:
        samples="results/experiments/{experiment}/samples/{sampler}/{direction}/n{n_steps}.pt",
        eval=lambda wildcards: prepared_split(wildcards.experiment, "eval"),
        train=lambda wildcards: prepared_split(wildcards.experiment, "train"),
        code=lib_files("evaluation", "unpaired_metrics", "splits", "io"),
    output:
        "results/experiments/{experiment}/unpaired_scores/{sampler}/{direction}/n{n_steps}.csv",
    log:
        "logs/score_unpaired/{experiment}/{sampler}_{direction}_n{n_steps}.log",
    conda:
        "../envs/sdetranslate.yaml"
    params:
        method=lambda wildcards: experiment_method(wildcards.experiment),
    script:
        "../workflow_scripts/score_unpaired.py"


rule score_unpaired_identity:
    input:
        eval=lambda wildcards: prepared_split(wildcards.experiment, "eval"),
        train=lambda wildcards: prepared_split(wildcards.experiment, "train"),
        code=lib_files("evaluation", "unpaired_metrics", "splits", "io"),
    output:
        "results/experiments/{experiment}/unpaired_scores/identity/{direction}.csv",
    log:
        "logs/score_unpaired/{experiment}/identity_{direction}.log",
    conda:
        "../envs/sdetranslate.yaml"
    params:
        method=lambda wildcards: experiment_method(wildcards.experiment),
    script:
        "../workflow_scripts/score_unpaired_identity.py"


rule collect_unpaired_scores:
    input:
        scores=unpaired_score_files(),
        code=lib_files("evaluation", "io"),
    output:
        report(
            "results/metrics/unpaired_scores.csv",
            caption="../report/unpaired_scores.rst",
            category="Metrics",
        ),
    log:
        "logs/collect_unpaired_scores.log",
    conda:
        "../envs/sdetranslate.yaml"
    script:
        "../workflow_scripts/collect_unpaired_scores.py"

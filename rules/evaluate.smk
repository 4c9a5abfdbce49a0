rule score_experiment:
    input:
        samples=lambda wildcards: experiment_sample_files(wildcards.experiment),
        eval=lambda wildcards: prepared_split(wildcards.experiment, "eval"),
        train=lambda wildcards: prepared_split(wildcards.experiment, "train"),
        code=lib_files("evaluation", "metrics", "io"),
    output:
        "results/experiments/{experiment}/scores.csv",
    log:
        "logs/score/{experiment}.log",
    conda:
        "../envs/sdetranslate.yaml"
    params:
        task=lambda wildcards: EXPERIMENTS[wildcards.experiment]["task"],
        dataset=lambda wildcards: EXPERIMENTS[wildcards.experiment]["dataset"],
        method=lambda wildcards: experiment_method(wildcards.experiment),
    script:
        "../workflow_scripts/score_experiment.py"


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


rule score_unpaired_experiment:
    input:
        samples=lambda wildcards: experiment_sample_files(wildcards.experiment),
        eval=lambda wildcards: prepared_split(wildcards.experiment, "eval"),
        train=lambda wildcards: prepared_split(wildcards.experiment, "train"),
        code=lib_files("evaluation", "unpaired_metrics", "splits", "io"),
    output:
        "results/experiments/{experiment}/unpaired_scores.csv",
    log:
        "logs/score_unpaired/{experiment}.log",
    conda:
        "../envs/sdetranslate.yaml"
    params:
        method=lambda wildcards: experiment_method(wildcards.experiment),
    script:
        "../workflow_scripts/score_unpaired_experiment.py"


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

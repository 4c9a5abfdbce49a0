rule profile_sampling_time:
    input:
        code=lib_files("profiling", "sampling", "score", "sde", "unet", "gan", "io", "runtime"),
    output:
        report(
            "results/profiling/sampling_time.csv",
            caption="../report/sampling_time_table.rst",
            category="Profiling",
        ),
    log:
        "logs/profiling/sampling_time.log",
    benchmark:
        "results/benchmarks/profiling/sampling_time.tsv"
    conda:
        "../envs/sdetranslate.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        profiling=config["profiling"],
        sde=config["sde"],
        device=config["device"],
        gan_generators=gan_generator_settings(),
    script:
        "../workflow_scripts/profile_sampling_time.py"


rule profile_memory:
    input:
        code=lib_files(
            "profiling", "sampling", "score", "sde", "unet", "unpaired", "losses", "io", "runtime"
        ),
    output:
        report(
            "results/profiling/memory.csv",
            caption="../report/memory_table.rst",
            category="Profiling",
        ),
    log:
        "logs/profiling/memory.log",
    benchmark:
        "results/benchmarks/profiling/memory.tsv"
    conda:
        "../envs/sdetranslate.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
        mem_mb=per_attempt(8000),
        runtime=per_attempt(120),
    params:
        profiling=config["profiling"],
        sde=config["sde"],
        device=config["device"],
    script:
        "../workflow_scripts/profile_memory.py"


rule plot_sampling_time:
    input:
        table="results/profiling/sampling_time.csv",
        code=lib_files("profiling_plots", "plotting"),
    output:
        png=report(
            "results/figures/sampling_time.png",
            caption="../report/sampling_time.rst",
            category="Profiling",
        ),
        pdf="results/figures/sampling_time.pdf",
    log:
        "logs/plots/sampling_time.log",
    conda:
        "../envs/sdetranslate.yaml"
    script:
        "../workflow_scripts/plot_sampling_time.py"


rule plot_memory:
    input:
        table="results/profiling/memory.csv",
        code=lib_files("profiling_plots", "plotting"),
    output:
        png=report(
            "results/figures/memory.png",
            caption="../report/memory.rst",
            category="Profiling",
        ),
        pdf="results/figures/memory.pdf",
    log:
        "logs/plots/memory.log",
    conda:
        "../envs/sdetranslate.yaml"
    script:
        "../workflow_scripts/plot_memory.py"


rule record_run_info:
    input:
        code=lib_files("provenance", "profiling", "runtime", "io"),
        config_files=workflow.configfiles,
    output:
        info=report(
            "results/run_info.yaml",
            caption="../report/run_info.rst",
            category="Run",
        ),
        page=RUN_INFO_PAGE,
    log:
        "logs/run_info.log",
    conda:
        "../envs/sdetranslate.yaml"
    params:
        config=config,
        device=config["device"],
        # A new commit or uncommitted change reruns the rule, so the record names the code in use.
        code_version=current_code_version(),
    script:
        "../workflow_scripts/record_run_info.py"

rule plot_sample_grids:
    input:
        samples=lambda wildcards: [grid["samples"] for grid in sample_grids(wildcards.experiment)],
        data=lambda wildcards: prepared_split(wildcards.experiment, "eval"),
        code=lib_files("plotting", "io"),
    output:
        report(
            directory("results/figures/samples/{experiment}"),
            patterns=["{run}.png"],
            caption="../report/sample_grid.rst",
            category="Sample grids",
            subcategory="{experiment}",
        ),
    log:
        "logs/plots/samples/{experiment}.log",
    conda:
        "../envs/sdetranslate.yaml"
    params:
        grids=lambda wildcards: [
            (grid["samples"], grid["name"]) for grid in sample_grids(wildcards.experiment)
        ],
        n_images=config["figures"]["grid_images"],
    script:
        "../workflow_scripts/plot_sample_grids.py"


rule plot_paired_translations:
    input:
        samples=translation_figure_inputs("paired"),
        data=[entry["data_path"] for entry in translation_figure_entries("paired")],
        code=lib_files("plotting", "io"),
    output:
        png=report(
            "results/figures/paired_translations.png",
            caption="../report/paired_translations.rst",
            category="Translations",
        ),
        pdf="results/figures/paired_translations.pdf",
    log:
        "logs/plots/paired_translations.log",
    conda:
        "../envs/sdetranslate.yaml"
    params:
        entries=translation_figure_entries("paired"),
        labels=direction_labels(),
        n_images=config["figures"]["translation_images"],
    script:
        "../workflow_scripts/plot_paired_translations.py"


rule plot_ssim_vs_steps:
    input:
        summary="results/metrics/ssim_summary.csv",
        code=lib_files("plotting"),
    output:
        png=report(
            "results/figures/ssim_vs_steps.png",
            caption="../report/ssim_vs_steps.rst",
            category="Metrics",
        ),
        pdf="results/figures/ssim_vs_steps.pdf",
    log:
        "logs/plots/ssim_vs_steps.log",
    conda:
        "../envs/sdetranslate.yaml"
    params:
        labels=direction_labels(),
    script:
        "../workflow_scripts/plot_ssim_vs_steps.py"


rule plot_ssim_vs_nfe:
    input:
        summary="results/metrics/ssim_summary.csv",
        code=lib_files("plotting"),
    output:
        png=report(
            "results/figures/ssim_vs_nfe.png",
            caption="../report/ssim_vs_nfe.rst",
            category="Metrics",
        ),
        pdf="results/figures/ssim_vs_nfe.pdf",
    log:
        "logs/plots/ssim_vs_nfe.log",
    conda:
        "../envs/sdetranslate.yaml"
    params:
        labels=direction_labels(),
    script:
        "../workflow_scripts/plot_ssim_vs_nfe.py"


rule plot_sampler_comparison:
    input:
        samples=[path for entry in sampler_comparison_entries() for path in entry["samples_paths"]],
        data=[entry["data_path"] for entry in sampler_comparison_entries()],
        code=lib_files("plotting", "evaluation", "io"),
    output:
        png=report(
            "results/figures/sampler_comparison.png",
            caption="../report/sampler_comparison.rst",
            category="Translations",
        ),
        pdf="results/figures/sampler_comparison.pdf",
    log:
        "logs/plots/sampler_comparison.log",
    conda:
        "../envs/sdetranslate.yaml"
    params:
        entries=sampler_comparison_entries(),
        n_images=config["figures"]["translation_images"],
    script:
        "../workflow_scripts/plot_sampler_comparison.py"


rule plot_training_loss:
    input:
        losses=expand(
            "results/experiments/{experiment}/training_loss.csv",
            experiment=training_experiments(),
        ),
        code=lib_files("plotting"),
    output:
        png=report(
            "results/figures/training_loss.png",
            caption="../report/training_loss.rst",
            category="Training",
        ),
        pdf="results/figures/training_loss.pdf",
    log:
        "logs/plots/training_loss.log",
    conda:
        "../envs/sdetranslate.yaml"
    params:
        experiments=training_experiments(),
    script:
        "../workflow_scripts/plot_training_loss.py"


rule plot_unpaired_translations:
    input:
        samples=translation_figure_inputs("unpaired"),
        reconstructions=[
            entry["reconstruction_path"] for entry in translation_figure_entries("unpaired")
        ],
        data=[entry["data_path"] for entry in translation_figure_entries("unpaired")],
        code=lib_files("plotting", "splits", "io"),
    output:
        png=report(
            "results/figures/unpaired_translations.png",
            caption="../report/unpaired_translations.rst",
            category="Translations",
        ),
        pdf="results/figures/unpaired_translations.pdf",
    log:
        "logs/plots/unpaired_translations.log",
    conda:
        "../envs/sdetranslate.yaml"
    params:
        entries=translation_figure_entries("unpaired"),
        labels=direction_labels(),
        n_images=config["figures"]["translation_images"],
    script:
        "../workflow_scripts/plot_unpaired_translations.py"


rule plot_unpaired_comparison:
    input:
        unpack(lambda wildcards: comparison_inputs()),
        code=lib_files("plotting", "evaluation", "splits", "io"),
    output:
        png=report(
            "results/figures/unpaired_comparison.png",
            caption="../report/unpaired_comparison.rst",
            category="Translations",
        ),
        pdf="results/figures/unpaired_comparison.pdf",
    log:
        "logs/plots/unpaired_comparison.log",
    conda:
        "../envs/sdetranslate.yaml"
    params:
        groups=comparison_groups(),
        titles=comparison_titles(),
        n_images=config["figures"]["translation_images"],
    script:
        "../workflow_scripts/plot_unpaired_comparison.py"


rule plot_unpaired_tradeoff:
    input:
        scores="results/metrics/unpaired_scores.csv",
        code=lib_files("plotting"),
    output:
        png=report(
            "results/figures/unpaired_tradeoff.png",
            caption="../report/unpaired_tradeoff.rst",
            category="Metrics",
        ),
        pdf="results/figures/unpaired_tradeoff.pdf",
    log:
        "logs/plots/unpaired_tradeoff.log",
    conda:
        "../envs/sdetranslate.yaml"
    params:
        labels=direction_labels(),
    script:
        "../workflow_scripts/plot_unpaired_tradeoff.py"

rule generate_synthetic_maps:
    input:
        lib_files("data/synthetic", "io"),
    output:
        directory("resources/datasets/{dataset}"),
    log:
        "logs/data/generate_{dataset}.log",
    wildcard_constraints:
        dataset=name_pattern(datasets_where(source="synthetic", layout="paired")),
    conda:
        "../envs/sdetranslate.yaml"
    params:
        settings=lambda wildcards: DATASETS[wildcards.dataset]["synthetic"],
    script:
        "../workflow_scripts/generate_synthetic.py"


rule generate_synthetic_horse2zebra:
    input:
        lib_files("data/synthetic_unpaired", "io"),
    output:
        directory("resources/datasets/{dataset}"),
    log:
        "logs/data/generate_{dataset}.log",
    wildcard_constraints:
        dataset=name_pattern(datasets_where(source="synthetic", layout="unpaired")),
    conda:
        "../envs/sdetranslate.yaml"
    params:
        settings=lambda wildcards: DATASETS[wildcards.dataset]["synthetic"],
    script:
        "../workflow_scripts/generate_synthetic_unpaired.py"


rule download_archive:
    output:
        "resources/archives/{dataset}/{archive}.verified",
    log:
        "logs/data/download_{dataset}_{archive}.log",
    wildcard_constraints:
        dataset=name_pattern(datasets_where(source="url")),
        archive=r"[A-Za-z0-9._-]+",
    # The output is a record of the checked archive, not the archive: Snakemake
    # deletes a job's outputs before rerunning it, which would throw away a
    # downloaded or hand-placed archive. An archive that exists is checked in
    # place, without network access, and never replaced.
    conda:
        "../envs/sdetranslate.yaml"
    params:
        archive=lambda wildcards: f"resources/archives/{wildcards.dataset}/{wildcards.archive}",
        url=lambda wildcards: DATASETS[wildcards.dataset]["url"],
        sha256=lambda wildcards: DATASETS[wildcards.dataset]["sha256"],
        retries=lambda wildcards: DATASETS[wildcards.dataset]["download"]["retries"],
        timeout_s=lambda wildcards: DATASETS[wildcards.dataset]["download"]["timeout_s"],
        size_bytes=lambda wildcards: DATASETS[wildcards.dataset]["download"]["size_bytes"],
    script:
        "../workflow_scripts/download_archive.py"


rule extract_archive:
    input:
        record=archive_record_path,
        code=lib_files("data/extract"),
    output:
        directory("resources/datasets/{dataset}"),
    log:
        "logs/data/extract_{dataset}.log",
    wildcard_constraints:
        dataset=name_pattern(datasets_where(source="url")),
    conda:
        "../envs/sdetranslate.yaml"
    params:
        archive=archive_path,
        splits=lambda wildcards: split_folders(wildcards.dataset),
    script:
        "../workflow_scripts/extract_archive.py"


rule prepare_paired_split:
    input:
        dataset="resources/datasets/{dataset}",
        code=lib_files("data/prepare", "data/images", "data/records", "data/extract", "io"),
    output:
        data="results/data/{dataset}/{size}px/{role}.pt",
        manifest="results/data/{dataset}/{size}px/{role}_manifest.csv",
        rejected="results/data/{dataset}/{size}px/{role}_rejected.csv",
    log:
        "logs/data/prepare_{dataset}_{size}px_{role}.log",
    wildcard_constraints:
        dataset=name_pattern(datasets_where(layout="paired")),
    conda:
        "../envs/sdetranslate.yaml"
    params:
        folder=lambda wildcards: DATASETS[wildcards.dataset]["splits"][wildcards.role]["folder"],
        limit=lambda wildcards: DATASETS[wildcards.dataset]["splits"][wildcards.role]["limit"],
        splits=lambda wildcards: split_folders(wildcards.dataset),
        domains=lambda wildcards: DATASETS[wildcards.dataset]["domains"],
        image_size=lambda wildcards: int(wildcards.size),
        on_bad_image=lambda wildcards: DATASETS[wildcards.dataset]["on_bad_image"],
    script:
        "../workflow_scripts/prepare_split.py"


rule prepare_unpaired_split:
    input:
        dataset="resources/datasets/{dataset}",
        code=lib_files(
            "data/prepare_unpaired",
            "data/prepare",
            "data/images",
            "data/records",
            "data/extract",
            "io",
        ),
    output:
        data="results/data/{dataset}/{size}px/{role}.pt",
        manifest="results/data/{dataset}/{size}px/{role}_manifest.csv",
        rejected="results/data/{dataset}/{size}px/{role}_rejected.csv",
    log:
        "logs/data/prepare_{dataset}_{size}px_{role}.log",
    wildcard_constraints:
        dataset=name_pattern(datasets_where(layout="unpaired")),
    conda:
        "../envs/sdetranslate.yaml"
    params:
        split=lambda wildcards: DATASETS[wildcards.dataset]["splits"][wildcards.role],
        splits=lambda wildcards: split_folders(wildcards.dataset),
        domains=lambda wildcards: DATASETS[wildcards.dataset]["domains"],
        image_size=lambda wildcards: int(wildcards.size),
        on_bad_image=lambda wildcards: DATASETS[wildcards.dataset]["on_bad_image"],
    script:
        "../workflow_scripts/prepare_unpaired_split.py"


# Image sizes at which experiments use each dataset, so the sizes at which its splits are prepared.
PREPARED_SIZES = {
    name: sorted(
        {
            experiment["image_size"]
            for experiment in EXPERIMENTS.values()
            if experiment["dataset"] == name
        }
    )
    for name in DATASETS
}


rule collect_dataset_records:
    input:
        manifests=lambda wildcards: expand(
            "results/data/{dataset}/{size}px/{role}_manifest.csv",
            dataset=wildcards.dataset,
            size=PREPARED_SIZES[wildcards.dataset],
            role=["train", "eval"],
        ),
        rejected=lambda wildcards: expand(
            "results/data/{dataset}/{size}px/{role}_rejected.csv",
            dataset=wildcards.dataset,
            size=PREPARED_SIZES[wildcards.dataset],
            role=["train", "eval"],
        ),
        code=lib_files("data/records", "data/images", "io"),
    output:
        manifest="results/datasets/{dataset}/manifest.csv",
        rejected="results/datasets/{dataset}/rejected.csv",
    log:
        "logs/data/collect_records_{dataset}.log",
    wildcard_constraints:
        dataset=name_pattern(DATASETS),
    conda:
        "../envs/sdetranslate.yaml"
    script:
        "../workflow_scripts/collect_dataset_records.py"

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
        "resources/archives/{dataset}/{archive}",
    log:
        "logs/data/download_{dataset}_{archive}.log",
    wildcard_constraints:
        dataset=name_pattern(datasets_where(source="url")),
        archive=r"[A-Za-z0-9._-]+",
    # No inputs: an archive that exists is never replaced, so one placed here by
    # hand is used without network access.
    conda:
        "../envs/sdetranslate.yaml"
    params:
        url=lambda wildcards: DATASETS[wildcards.dataset]["url"],
        sha256=lambda wildcards: DATASETS[wildcards.dataset]["sha256"],
    script:
        "../workflow_scripts/download_archive.py"


rule extract_archive:
    input:
        archive=archive_path,
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
        splits=lambda wildcards: split_folders(wildcards.dataset),
    script:
        "../workflow_scripts/extract_archive.py"


rule prepare_paired_split:
    input:
        dataset="resources/datasets/{dataset}",
        code=lib_files("data/prepare", "data/extract", "io"),
    output:
        "results/data/{dataset}/{size}px/{role}.pt",
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
    script:
        "../workflow_scripts/prepare_split.py"


rule prepare_unpaired_split:
    input:
        dataset="resources/datasets/{dataset}",
        code=lib_files("data/prepare_unpaired", "data/prepare", "data/extract", "io"),
    output:
        "results/data/{dataset}/{size}px/{role}.pt",
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
    script:
        "../workflow_scripts/prepare_unpaired_split.py"

"""Resize one split of an unpaired dataset, store each domain as uint8 tensors, write its records."""

from sdetranslate.data.extract import find_dataset_root
from sdetranslate.data.prepare_unpaired import prepare_unpaired_split
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
split = snakemake.params.split
prepare_unpaired_split(
    find_dataset_root(snakemake.input.dataset, required_splits=snakemake.params.splits),
    split_a=split["folder_a"],
    split_b=split["folder_b"],
    image_size=snakemake.params.image_size,
    limit=split["limit"],
    out_path=snakemake.output.data,
    domains=tuple(snakemake.params.domains),
    counterpart_a=split["counterpart_a"],
    counterpart_b=split["counterpart_b"],
    on_bad_image=snakemake.params.on_bad_image,
    manifest_path=snakemake.output.manifest,
    rejected_path=snakemake.output.rejected,
    role=snakemake.wildcards.role,
)

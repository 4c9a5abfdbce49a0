"""Resize one split of a paired dataset and store it as uint8 tensors, with its CSV records."""

from sdetranslate.data.extract import find_dataset_root
from sdetranslate.data.prepare import prepare_paired_split
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
root = find_dataset_root(snakemake.input.dataset, required_splits=snakemake.params.splits)
prepare_paired_split(
    root,
    split=snakemake.params.folder,
    image_size=snakemake.params.image_size,
    limit=snakemake.params.limit,
    out_path=snakemake.output.data,
    domains=tuple(snakemake.params.domains),
    on_bad_image=snakemake.params.on_bad_image,
    manifest_path=snakemake.output.manifest,
    rejected_path=snakemake.output.rejected,
    role=snakemake.wildcards.role,
)

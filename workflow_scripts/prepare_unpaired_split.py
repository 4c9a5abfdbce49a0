"""Resize one split of an unpaired dataset and store each domain as uint8 tensors."""

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
    out_path=snakemake.output[0],
    domains=tuple(snakemake.params.domains),
    counterpart_a=split["counterpart_a"],
    counterpart_b=split["counterpart_b"],
)

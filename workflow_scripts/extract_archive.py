"""Extract a dataset archive safely into its dataset folder."""

from sdetranslate.data.extract import extract_archive
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
extract_archive(
    snakemake.params.archive, snakemake.output[0], required_splits=snakemake.params.splits
)

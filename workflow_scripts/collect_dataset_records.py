"""Combine the per-split manifests and rejected-file lists of a dataset into its two CSV files."""

from sdetranslate.data.records import MANIFEST_COLUMNS, REJECTED_COLUMNS, merge_record_files
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
merge_record_files(snakemake.input.manifests, snakemake.output.manifest, MANIFEST_COLUMNS)
merge_record_files(snakemake.input.rejected, snakemake.output.rejected, REJECTED_COLUMNS)

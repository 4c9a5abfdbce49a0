"""Download a dataset archive, or check one that is already in place, and record it."""

from sdetranslate.data.download import fetch_archive_with_record
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
fetch_archive_with_record(
    snakemake.params.url,
    snakemake.params.archive,
    snakemake.output[0],
    sha256=snakemake.params.sha256,
    timeout=snakemake.params.timeout_s,
    retries=snakemake.params.retries,
    size_bytes=snakemake.params.size_bytes,
)

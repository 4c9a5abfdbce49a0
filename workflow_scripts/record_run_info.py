"""Record the code version, device, package versions and config of this run."""

from sdetranslate.provenance import write_run_info
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
write_run_info(
    snakemake.output.info,
    snakemake.output.page,
    config=snakemake.params.config,
    device=snakemake.params.device,
    version=snakemake.params.code_version,
    config_files=list(snakemake.input.config_files),
)

"""Measure peak memory of sampling and of one unpaired training step."""

from sdetranslate.profiling import ProfileModel, profile_memory
from sdetranslate.runtime import resolve_device, start_step

start_step(snakemake.log[0], threads=snakemake.threads)
settings = snakemake.params.profiling
profile_memory(
    model=ProfileModel(preset=settings["preset"], sde=snakemake.params.sde),
    image_sizes=settings["memory_image_sizes"],
    n_steps=settings["memory_n_steps"],
    batch_size=settings["memory_batch_size"],
    device=resolve_device(snakemake.params.device),
    out_path=snakemake.output[0],
)

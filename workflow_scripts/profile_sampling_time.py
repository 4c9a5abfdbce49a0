"""Time translation batches against N and image size, and the bare UNet forward."""

from sdetranslate.profiling import ProfileModel, profile_sampling_time
from sdetranslate.runtime import resolve_device, start_step

start_step(snakemake.log[0], threads=snakemake.threads)
settings = snakemake.params.profiling
profile_sampling_time(
    model=ProfileModel(preset=settings["preset"], sde=snakemake.params.sde),
    image_sizes=settings["image_sizes"],
    n_steps=settings["n_steps"],
    batch_size=settings["batch_size"],
    repeats=settings["repeats"],
    sampler="em",
    device=resolve_device(snakemake.params.device),
    out_path=snakemake.output[0],
    gan_generators=snakemake.params.gan_generators,
)

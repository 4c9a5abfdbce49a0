"""Translate one sampling run's translations back with the model of the opposite direction."""

from sdetranslate.io import load_torch
from sdetranslate.runtime import resolve_device, start_step
from sdetranslate.translate import reconstruct

start_step(snakemake.log[0], threads=snakemake.threads)
reconstruct(
    snakemake.input.model,
    load_torch(snakemake.input.samples),
    experiment=snakemake.wildcards.experiment,
    direction=snakemake.params.model_direction,
    sampler=snakemake.params.sampler,
    sampler_settings=snakemake.params.settings,
    n_steps=snakemake.params.n_steps,
    seed=snakemake.params.seed,
    batch_size=snakemake.params.batch_size,
    device=resolve_device(snakemake.params.device),
    precision=snakemake.params.precision,
    out_path=snakemake.output[0],
)

"""Translate the evaluation split of an experiment in one direction."""

from sdetranslate.splits import load_split
from sdetranslate.runtime import resolve_device, start_step
from sdetranslate.translate import translate_split

start_step(snakemake.log[0], threads=snakemake.threads)
translate_split(
    snakemake.input.model,
    load_split(snakemake.input.data),
    experiment=snakemake.wildcards.experiment,
    direction=snakemake.wildcards.direction,
    sampler=snakemake.params.sampler,
    sampler_settings=snakemake.params.settings,
    n_steps=snakemake.params.n_steps,
    seed=snakemake.params.seed,
    batch_size=snakemake.params.batch_size,
    device=resolve_device(snakemake.params.device),
    precision=snakemake.params.precision,
    out_path=snakemake.output[0],
)

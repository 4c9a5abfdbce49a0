"""Translate the evaluation split of a GAN experiment in one direction and time the generator."""

from sdetranslate.gan_training import translate_split_gan
from sdetranslate.runtime import resolve_device, start_step
from sdetranslate.splits import load_split

start_step(snakemake.log[0], threads=snakemake.threads)
translate_split_gan(
    snakemake.input.model,
    load_split(snakemake.input.data),
    experiment=snakemake.wildcards.experiment,
    direction=snakemake.wildcards.direction,
    seed=snakemake.params.seed,
    device=resolve_device(snakemake.params.device),
    out_path=snakemake.output.samples,
    timing_csv=snakemake.output.timing,
)

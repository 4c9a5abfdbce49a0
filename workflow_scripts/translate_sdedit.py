"""Translate the evaluation split in one direction with SDEdit from one t0."""

from sdetranslate.bridges import translate_split_sdedit
from sdetranslate.runtime import resolve_device, start_step
from sdetranslate.splits import load_split

start_step(snakemake.log[0], threads=snakemake.threads)
translate_split_sdedit(
    dict(zip(["A", "B"], snakemake.input.models)),
    load_split(snakemake.input.data),
    experiment=snakemake.wildcards.experiment,
    direction=snakemake.wildcards.direction,
    t0=snakemake.params.t0,
    n_steps=snakemake.params.n_steps,
    seed=snakemake.params.seed,
    batch_size=snakemake.params.batch_size,
    device=resolve_device(snakemake.params.device),
    precision=snakemake.params.precision,
    out_path=snakemake.output[0],
)

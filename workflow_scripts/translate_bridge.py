"""Translate the evaluation split in one direction with the bridge of the two domain models, and back."""

from sdetranslate.bridges import translate_split_bridge
from sdetranslate.runtime import resolve_device, start_step
from sdetranslate.splits import load_split

start_step(snakemake.log[0], threads=snakemake.threads)
translate_split_bridge(
    dict(zip(["A", "B"], snakemake.input.models)),
    load_split(snakemake.input.data),
    experiment=snakemake.wildcards.experiment,
    direction=snakemake.wildcards.direction,
    encode_nfe=snakemake.params.encode_nfe,
    decode_nfe=snakemake.params.decode_nfe,
    batch_size=snakemake.params.batch_size,
    device=resolve_device(snakemake.params.device),
    precision=snakemake.params.precision,
    out_path=snakemake.output[0],
)

"""Score every unpaired translation run of an experiment, and its inputs, with the stripe score and mask IoU."""

from sdetranslate.evaluation import score_unpaired_experiment
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
score_unpaired_experiment(
    list(snakemake.input.samples),
    snakemake.input.eval,
    snakemake.input.train,
    experiment=snakemake.wildcards.experiment,
    method=snakemake.params.method,
    directions=["AtoB", "BtoA"],
    out_path=snakemake.output[0],
)

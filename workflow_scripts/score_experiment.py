"""Score every translation run of an experiment and its baselines with SSIM and PSNR."""

from sdetranslate.evaluation import score_experiment
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
score_experiment(
    list(snakemake.input.samples),
    snakemake.input.eval,
    snakemake.input.train,
    experiment=snakemake.wildcards.experiment,
    task=snakemake.params.task,
    dataset=snakemake.params.dataset,
    method=snakemake.params.method,
    directions=["AtoB", "BtoA"],
    out_path=snakemake.output[0],
)

"""Gather the per-run scores into ssim.csv and its summary."""

from sdetranslate.evaluation import write_metrics
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
write_metrics(snakemake.input.scores, snakemake.output.ssim, snakemake.output.summary)

"""Gather the per-run unpaired scores into unpaired_scores.csv."""

from sdetranslate.evaluation import write_unpaired_scores
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
write_unpaired_scores(snakemake.input.scores, snakemake.output[0])

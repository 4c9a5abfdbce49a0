"""Plot SSIM against the score-network evaluations (NFE) of each sampler."""

from sdetranslate.plotting import plot_ssim_vs_nfe
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
plot_ssim_vs_nfe(
    snakemake.input.summary, snakemake.output[0], direction_labels=snakemake.params.labels
)

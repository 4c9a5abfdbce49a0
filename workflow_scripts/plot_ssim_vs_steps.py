"""Plot SSIM against the number of sampler steps."""

from sdetranslate.plotting import plot_ssim_vs_steps
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
plot_ssim_vs_steps(
    snakemake.input.summary, snakemake.output[0], direction_labels=snakemake.params.labels
)

"""Plot the same evaluation images translated by each sampler at its smallest and largest budget."""

from sdetranslate.plotting import plot_sampler_comparison
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
plot_sampler_comparison(
    snakemake.params.entries, snakemake.output[0], n_images=snakemake.params.n_images
)

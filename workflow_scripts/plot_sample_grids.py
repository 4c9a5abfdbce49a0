"""Plot the sample grid of every translation run of an experiment."""

from sdetranslate.plotting import plot_sample_grids
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
plot_sample_grids(
    snakemake.params.grids,
    snakemake.input.data,
    snakemake.output[0],
    n_images=snakemake.params.n_images,
)

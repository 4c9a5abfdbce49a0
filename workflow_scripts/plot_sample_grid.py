"""Plot conditions, translations and ground truth of one sampling run."""

from sdetranslate.plotting import plot_sample_grid
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
plot_sample_grid(
    snakemake.input.samples,
    snakemake.input.data,
    snakemake.output[0],
    n_images=snakemake.params.n_images,
)

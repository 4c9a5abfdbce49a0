"""Plot input | translation | ground truth rows for every paired experiment and direction."""

from sdetranslate.plotting import label_figure_entries, plot_paired_translations
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
plot_paired_translations(
    label_figure_entries(snakemake.params.entries, snakemake.params.labels),
    snakemake.output[0],
    n_images=snakemake.params.n_images,
)

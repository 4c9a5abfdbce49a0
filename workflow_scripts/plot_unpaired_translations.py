"""Plot input | translation | reconstruction rows for every unpaired experiment and direction."""

from sdetranslate.plotting import label_figure_entries, plot_unpaired_translations
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
plot_unpaired_translations(
    label_figure_entries(snakemake.params.entries, snakemake.params.labels),
    snakemake.output[0],
    n_images=snakemake.params.n_images,
)

"""Plot the translations of every unpaired method side by side, for both directions."""

from sdetranslate.plotting import plot_unpaired_comparison
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
plot_unpaired_comparison(
    snakemake.params.groups,
    snakemake.params.titles,
    snakemake.output[0],
    n_images=snakemake.params.n_images,
)

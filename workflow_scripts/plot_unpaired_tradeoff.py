"""Plot stripe score against mask IoU for every unpaired method and setting."""

from sdetranslate.plotting import plot_unpaired_tradeoff
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
plot_unpaired_tradeoff(snakemake.input.scores, snakemake.output[0], snakemake.params.labels)

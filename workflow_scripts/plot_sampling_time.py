"""Plot sampling time against N, one line per image size."""

from sdetranslate.profiling_plots import plot_sampling_time
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
plot_sampling_time(snakemake.input.table, snakemake.output.png)

"""Plot peak memory with and without gradient tracking and checkpointing."""

from sdetranslate.profiling_plots import plot_memory
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
plot_memory(snakemake.input.table, snakemake.output.png)

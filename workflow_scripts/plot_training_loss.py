"""Plot the training loss of every experiment."""

from sdetranslate.plotting import plot_training_loss
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
plot_training_loss(
    dict(zip(snakemake.params.experiments, snakemake.input.losses)), snakemake.output[0]
)

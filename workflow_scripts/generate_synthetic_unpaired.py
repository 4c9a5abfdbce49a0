"""Generate the synthetic unpaired horse/zebra dataset in the CycleGAN layout."""

from sdetranslate.data.synthetic_unpaired import generate_synthetic_horse2zebra
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
settings = snakemake.params.settings
generate_synthetic_horse2zebra(
    snakemake.output[0],
    n_train=settings["n_train"],
    n_test=settings["n_val"],
    seed=settings["seed"],
    image_size=settings["tile_size"],
)

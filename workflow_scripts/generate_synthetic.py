"""Generate the synthetic paired street-map dataset in the pix2pix maps layout."""

from sdetranslate.data.synthetic import generate_synthetic_maps
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
settings = snakemake.params.settings
generate_synthetic_maps(
    snakemake.output[0],
    n_train=settings["n_train"],
    n_val=settings["n_val"],
    seed=settings["seed"],
    tile_size=settings["tile_size"],
)

"""Plot input | translation | ground truth rows for every paired experiment and direction."""

from sdetranslate.plotting import plot_paired_translations
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
entries = [
    {
        "label": f"{entry['experiment']}\n"
        f"{snakemake.params.labels[entry['experiment'] + '/' + entry['direction']]}\n"
        f"N = {entry['n_steps']}",
        "samples_path": entry["samples_path"],
        "data_path": entry["data_path"],
    }
    for entry in snakemake.params.entries
]
plot_paired_translations(entries, snakemake.output[0], n_images=snakemake.params.n_images)

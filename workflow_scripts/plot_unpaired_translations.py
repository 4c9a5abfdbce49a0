"""Plot input | translation | reconstruction rows for every unpaired experiment and direction."""

from sdetranslate.plotting import plot_unpaired_translations
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
entries = [
    {
        "label": f"{entry['experiment']}\n"
        f"{snakemake.params.labels[entry['experiment'] + '/' + entry['direction']]}\n"
        f"N = {entry['n_steps']}",
        "samples_path": entry["samples_path"],
        "reconstruction_path": entry["reconstruction_path"],
        "data_path": entry["data_path"],
    }
    for entry in snakemake.params.entries
]
plot_unpaired_translations(entries, snakemake.output[0], n_images=snakemake.params.n_images)

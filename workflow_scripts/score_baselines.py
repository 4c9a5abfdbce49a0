"""Score the identity and mean-image baselines of one direction."""

from sdetranslate.evaluation import score_baselines
from sdetranslate.io import save_dataframe_csv
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
scores = score_baselines(
    snakemake.input.eval,
    snakemake.input.train,
    experiment=snakemake.wildcards.experiment,
    task=snakemake.params.task,
    dataset=snakemake.params.dataset,
    direction=snakemake.wildcards.direction,
    method=snakemake.params.method,
)
save_dataframe_csv(scores, snakemake.output[0])

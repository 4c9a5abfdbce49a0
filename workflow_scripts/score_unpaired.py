"""Score one unpaired sampling run with the stripe score and the object-mask IoU."""

from sdetranslate.evaluation import score_unpaired
from sdetranslate.io import save_dataframe_csv
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
scores = score_unpaired(
    snakemake.input.samples,
    snakemake.input.eval,
    snakemake.input.train,
    experiment=snakemake.wildcards.experiment,
    method=snakemake.params.method,
)
save_dataframe_csv(scores, snakemake.output[0])

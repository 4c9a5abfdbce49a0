"""Score the untranslated inputs with the stripe score and the object-mask IoU, as a reference."""

from sdetranslate.evaluation import score_unpaired_identity
from sdetranslate.io import save_dataframe_csv
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
scores = score_unpaired_identity(
    snakemake.input.eval,
    snakemake.input.train,
    experiment=snakemake.wildcards.experiment,
    direction=snakemake.wildcards.direction,
    method=snakemake.params.method,
)
save_dataframe_csv(scores, snakemake.output[0])

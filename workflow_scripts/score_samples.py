"""Score one sampling run against the ground truth with SSIM and PSNR."""

from sdetranslate.evaluation import score_translations
from sdetranslate.io import save_dataframe_csv
from sdetranslate.runtime import start_step

start_step(snakemake.log[0])
scores = score_translations(
    snakemake.input.samples,
    snakemake.input.data,
    experiment=snakemake.wildcards.experiment,
    task=snakemake.params.task,
    dataset=snakemake.params.dataset,
    method=snakemake.params.method,
)
save_dataframe_csv(scores, snakemake.output[0])

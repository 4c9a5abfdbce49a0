"""Train the pix2pix baseline, one conditional GAN per direction, on a paired split."""

from sdetranslate.data.prepare import load_paired_split
from sdetranslate.gan_training import gan_config_from_settings, train_pix2pix
from sdetranslate.runtime import resolve_device, start_step
from sdetranslate.training import file_digest

start_step(snakemake.log[0], threads=snakemake.threads)
train_pix2pix(
    load_paired_split(snakemake.input.train),
    image_size=snakemake.params.image_size,
    config=gan_config_from_settings(snakemake.params.training, snakemake.params.gan),
    model_paths=dict(zip(["AtoB", "BtoA"], snakemake.output.models)),
    loss_csv=snakemake.output.loss,
    state_dir=snakemake.params.state_dir,
    device=resolve_device(snakemake.params.device),
    data_fingerprint=file_digest(snakemake.input.train),
)

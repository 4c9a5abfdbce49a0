"""Train the unconditional per-domain models of a bridge or SDEdit experiment."""

from sdetranslate.data.prepare_unpaired import load_unpaired_split
from sdetranslate.domain_models import train_domain_models
from sdetranslate.runtime import resolve_device, start_step
from sdetranslate.training import file_digest, train_config_from_settings
from sdetranslate.unet import UNetConfig

start_step(snakemake.log[0], threads=snakemake.threads)
train_domain_models(
    load_unpaired_split(snakemake.input.train),
    model_config=UNetConfig.from_dict(snakemake.params.model),
    train_config=train_config_from_settings(
        snakemake.params.training, snakemake.params.sde, snakemake.params.precision
    ),
    model_paths=dict(zip(["A", "B"], snakemake.output.models)),
    loss_csv=snakemake.output.loss,
    state_dir=snakemake.params.state_dir,
    device=resolve_device(snakemake.params.device),
    data_fingerprint=file_digest(snakemake.input.train),
    sigma_data=snakemake.params.sigma_data,
)

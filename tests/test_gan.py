import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from sdetranslate.evaluation import load_samples
from sdetranslate.gan import (
    HistoryBuffer,
    PatchDiscriminator,
    ResnetGenerator,
    UNetGenerator,
    load_generator,
    patchgan_layers_for,
    patchgan_receptive_field,
)
from sdetranslate.gan_training import (
    TIMING_COLUMNS,
    GANConfig,
    _adam,
    cyclegan_step,
    gan_config_from_settings,
    linear_decay_factor,
    pix2pix_step,
    train_cyclegan,
    train_pix2pix,
    translate_split_gan,
)
from test_training import wait_for_state


@pytest.mark.parametrize("size", [64, 32])
def test_unet_generator_shape(size):
    generator = UNetGenerator(size, base_channels=8)

    output = generator(torch.randn(2, 3, size, size))

    assert output.shape == (2, 3, size, size)
    assert output.abs().max() <= 1
    assert len(generator.encoder) == {64: 6, 32: 5}[size]


def test_unet_generator_rejects_other_sizes():
    with pytest.raises(ValueError, match="power-of-two image_size"):
        UNetGenerator(48)


def test_unet_generator_dropout_is_noise_in_eval_mode():
    torch.manual_seed(0)
    generator = UNetGenerator(32, base_channels=8).eval()
    images = torch.randn(1, 3, 32, 32)

    first, second = generator(images), generator(images)

    assert not torch.equal(first, second)


@pytest.mark.parametrize("size", [64, 32])
def test_resnet_generator_shape(size):
    generator = ResnetGenerator(base_channels=8, n_blocks=6)

    output = generator(torch.randn(2, 3, size, size))

    assert output.shape == (2, 3, size, size)
    assert sum(1 for name, _ in generator.named_children()) == 1


@pytest.mark.parametrize("size", [64, 32])
@pytest.mark.parametrize("in_channels", [3, 6])
def test_patch_discriminator_shape(size, in_channels):
    layers = patchgan_layers_for(size)
    discriminator = PatchDiscriminator(in_channels, base_channels=8, n_layers=layers)

    output = discriminator(torch.randn(2, in_channels, size, size))

    # One stride-2 layer halves the side; each stride-1 kernel-4 layer with padding 1 removes 1.
    assert output.shape == (2, 1, size // 2 - 2, size // 2 - 2)


def test_patchgan_receptive_fields():
    assert [patchgan_receptive_field(n) for n in (1, 2, 3)] == [16, 34, 70]
    assert patchgan_layers_for(256) == 3
    assert patchgan_layers_for(64) == 1
    assert patchgan_layers_for(32) == 1


@pytest.mark.parametrize("n_layers", [1, 2])
def test_patch_discriminator_receptive_field_matches(n_layers):
    discriminator = PatchDiscriminator(3, base_channels=4, n_layers=n_layers)
    # Instance normalization spreads every output over the whole image, so it
    # is taken out to measure what the convolutions see.
    for index, layer in enumerate(discriminator.network):
        if isinstance(layer, torch.nn.InstanceNorm2d):
            discriminator.network[index] = torch.nn.Identity()
    images = torch.randn(1, 3, 64, 64, requires_grad=True)

    output = discriminator(images)
    centre = output.shape[-1] // 2
    output[0, 0, centre, centre].backward()
    rows = images.grad.abs().sum(dim=(0, 1, 3)).nonzero()

    assert discriminator.receptive_field == patchgan_receptive_field(n_layers)
    assert int(rows.max() - rows.min() + 1) == discriminator.receptive_field


def fixed_batch(seed: int, size: int = 32, count: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(count, 3, size // 8, size // 8, generator=generator) * 2 - 1
    source = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear")
    return source, -source


STEPS = 12


def assert_decreases(values: list[float]) -> None:
    """Check that the last value and the mean of the last 3 are below the first value and first 3."""
    assert values[-1] < values[0], values
    assert sum(values[-3:]) < sum(values[:3]), values


def test_pix2pix_steps_reduce_generator_loss():
    torch.manual_seed(0)
    config = GANConfig(steps=1)
    generator = UNetGenerator(32, base_channels=8)
    discriminator = PatchDiscriminator(6, base_channels=8, n_layers=1)
    generator_optimizer = _adam(generator.parameters(), config)
    discriminator_optimizer = _adam(discriminator.parameters(), config)
    source, target = fixed_batch(0)

    losses = [
        pix2pix_step(
            generator,
            discriminator,
            generator_optimizer,
            discriminator_optimizer,
            source,
            target,
            100.0,
        )
        for _ in range(STEPS)
    ]

    assert_decreases([float(values["generator"]) for values in losses])
    assert_decreases([float(values["l1"]) for values in losses])


def test_cyclegan_steps_reduce_generator_losses():
    torch.manual_seed(0)
    config = GANConfig(steps=1, generator_channels=8, discriminator_channels=8, residual_blocks=2)
    generators = {d: ResnetGenerator(8, 2) for d in ("AtoB", "BtoA")}
    discriminators = {d: PatchDiscriminator(3, 8, 1) for d in ("AtoB", "BtoA")}
    generator_optimizer = _adam([p for g in generators.values() for p in g.parameters()], config)
    discriminator_optimizer = _adam(
        [p for d in discriminators.values() for p in d.parameters()], config
    )
    buffers = {d: HistoryBuffer(4, seed=0) for d in ("AtoB", "BtoA")}
    a, b = fixed_batch(1)

    losses = [
        cyclegan_step(
            generators,
            discriminators,
            generator_optimizer,
            discriminator_optimizer,
            buffers,
            a,
            b,
            config,
        )
        for _ in range(STEPS)
    ]

    for name in ("generator", "loss_AtoB", "loss_BtoA"):
        assert_decreases([float(values[name]) for values in losses])


def labelled_images(labels) -> torch.Tensor:
    """Return 1x1 single-channel images whose only value is the label."""
    return torch.tensor(labels, dtype=torch.float32).view(-1, 1, 1, 1)


def test_history_buffer_returns_new_until_full():
    buffer = HistoryBuffer(size=4, seed=0)

    returned = buffer.query(labelled_images([0, 1, 2]))
    more = buffer.query(labelled_images([3]))

    assert returned.flatten().tolist() == [0, 1, 2]
    assert more.flatten().tolist() == [3]
    assert sorted(image.item() for image in buffer.images) == [0, 1, 2, 3]


def test_history_buffer_swaps_half_when_full():
    size, batches = 10, 200
    buffer = HistoryBuffer(size=size, seed=1)
    buffer.query(labelled_images(range(size)))
    given = set(range(size))
    old_returned = 0

    for batch in range(batches):
        label = size + batch
        returned = buffer.query(labelled_images([label])).item()
        stored = sorted(image.item() for image in buffer.images)
        assert len(stored) == size
        if returned == label:
            assert label not in stored
        else:
            old_returned += 1
            assert returned in given, f"returned {returned}, which was never given"
            assert label in stored
            assert returned not in stored
        given.add(label)

    # Swaps are Bernoulli(0.5): 200 draws stay within 0.5 ± 0.1 except with probability < 0.01.
    assert 0.4 < old_returned / batches < 0.6, old_returned


def test_history_buffer_of_size_zero_returns_input():
    images = labelled_images([5, 6])

    assert torch.equal(HistoryBuffer(size=0).query(images), images)


def test_history_buffer_state_round_trip():
    buffer = HistoryBuffer(size=3, seed=2)
    buffer.query(labelled_images([0, 1, 2]))
    copy = HistoryBuffer(size=3, seed=99)
    copy.load_state_dict(buffer.state_dict())

    for label in range(3, 13):
        assert torch.equal(
            buffer.query(labelled_images([label])), copy.query(labelled_images([label]))
        )


def test_linear_decay_over_second_half():
    factors = [linear_decay_factor(step, 10) for step in range(10)]

    assert factors[:6] == [1.0] * 6
    assert factors[6:] == pytest.approx([0.8, 0.6, 0.4, 0.2])


def test_gan_config_ignores_score_model_settings():
    training = {"steps": 5, "batch_size": 2, "warmup_steps": 100, "ema_decay": 0.99, "seed": 3}

    config = gan_config_from_settings(training, {"lr": 1e-3})

    assert (config.steps, config.batch_size, config.seed, config.lr) == (5, 2, 3, 1e-3)


def test_gan_config_rejects_invalid_values():
    with pytest.raises(ValueError, match="dropout"):
        GANConfig(steps=1, dropout=1.0)


def paired_data(size: int = 32, count: int = 4) -> dict:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (count, 3, size, size), dtype=torch.uint8, generator=generator)
    return {
        "a": images,
        "b": images.flip(-1),
        "names": [f"img{index}" for index in range(count)],
        "domains": ["satellite", "map"],
    }


def small_config(**settings) -> GANConfig:
    return GANConfig(
        steps=4,
        batch_size=2,
        checkpoint_every=2,
        log_every=1,
        generator_channels=4,
        discriminator_channels=4,
        residual_blocks=1,
        **settings,
    )


def test_train_pix2pix_writes_generators_and_log(tmp_path):
    data = paired_data()
    paths = {direction: tmp_path / f"{direction}.pt" for direction in ("AtoB", "BtoA")}

    frame = train_pix2pix(
        data,
        32,
        small_config(),
        paths,
        tmp_path / "loss.csv",
        tmp_path / "state",
        torch.device("cpu"),
    )

    assert list(frame.columns[:5]) == ["step", "loss", "loss_AtoB", "loss_BtoA", "lr"]
    assert frame["step"].tolist() == [1, 2, 3, 4]
    assert {"l1_AtoB", "gan_BtoA", "discriminator_AtoB"} <= set(frame.columns)
    assert not (tmp_path / "state").exists()
    generator, meta = load_generator(paths["BtoA"], torch.device("cpu"))
    assert isinstance(generator, UNetGenerator)
    assert (meta["method"], meta["direction"], meta["step"]) == ("pix2pix", "BtoA", 4)


def test_train_cyclegan_is_reproducible(tmp_path):
    data = paired_data()
    data = {"a": data["a"], "b": data["b"][:3], "domains": ["horse", "zebra"]}
    weights = []
    for run in ("first", "second"):
        paths = {direction: tmp_path / run / f"{direction}.pt" for direction in ("AtoB", "BtoA")}
        frame = train_cyclegan(
            data,
            32,
            small_config(),
            paths,
            tmp_path / run / "loss.csv",
            tmp_path / run / "state",
            torch.device("cpu"),
        )
        weights.append(torch.load(paths["AtoB"], weights_only=True)["state_dict"])

    assert {"cycle_A", "identity_B", "discriminator_BtoA"} <= set(frame.columns)
    assert frame["lr"].tolist() == pytest.approx([2e-4, 2e-4, 2e-4, 1e-4])
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key


def test_translate_split_gan_writes_samples_and_timing(tmp_path):
    data = paired_data()
    paths = {direction: tmp_path / f"{direction}.pt" for direction in ("AtoB", "BtoA")}
    train_pix2pix(
        data,
        32,
        small_config(),
        paths,
        tmp_path / "loss.csv",
        tmp_path / "state",
        torch.device("cpu"),
    )
    outputs = []
    for run in ("first", "second"):
        translate_split_gan(
            paths["AtoB"],
            data,
            experiment="p2p",
            direction="AtoB",
            seed=0,
            device=torch.device("cpu"),
            out_path=tmp_path / run / "n1.pt",
            timing_csv=tmp_path / run / "timing.csv",
        )
        outputs.append(load_samples(tmp_path / run / "n1.pt"))

    samples = outputs[0]
    assert (samples["sampler"], samples["n_steps"], samples["direction"]) == ("gan", 1, "AtoB")
    assert samples["images"].shape == (4, 3, 32, 32)
    assert samples["images"].dtype == torch.uint8
    assert samples["image_ids"] == data["names"]
    assert torch.equal(samples["images"], outputs[1]["images"])
    timing = pd.read_csv(tmp_path / "first" / "timing.csv")
    assert list(timing.columns) == TIMING_COLUMNS
    assert timing.loc[0, "n_images"] == 4
    assert timing.loc[0, "seconds_per_image"] > 0


def test_translate_split_gan_rejects_other_direction(tmp_path):
    data = paired_data()
    paths = {direction: tmp_path / f"{direction}.pt" for direction in ("AtoB", "BtoA")}
    train_pix2pix(
        data,
        32,
        small_config(),
        paths,
        tmp_path / "loss.csv",
        tmp_path / "state",
        torch.device("cpu"),
    )

    with pytest.raises(ValueError, match="contains the AtoB generator, not BtoA"):
        translate_split_gan(
            paths["AtoB"],
            data,
            experiment="p2p",
            direction="BtoA",
            seed=0,
            device=torch.device("cpu"),
            out_path=tmp_path / "n1.pt",
            timing_csv=tmp_path / "t.csv",
        )


CYCLEGAN_STEPS = 100
CYCLEGAN_CODE = """
import logging, sys, torch
logging.basicConfig(level=logging.INFO)
from sdetranslate.gan_training import GANConfig, train_cyclegan
torch.set_num_threads(1)
out = sys.argv[1]
generator = torch.Generator().manual_seed(0)
images = torch.randint(0, 256, (10, 3, 16, 16), dtype=torch.uint8, generator=generator)
config = GANConfig(
    steps={steps}, batch_size=2, checkpoint_every=10, log_every=5, generator_channels=4,
    discriminator_channels=4, residual_blocks=1, history_size=3,
)
train_cyclegan(
    {{"a": images[:6], "b": images[6:], "domains": ["horse", "zebra"]}},
    16,
    config,
    {{"AtoB": out + "/AtoB.pt", "BtoA": out + "/BtoA.pt"}},
    out + "/loss.csv",
    out + "/state",
    torch.device("cpu"),
)
"""


def run_cyclegan(directory) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "lib"))
    return subprocess.Popen(
        [sys.executable, "-c", CYCLEGAN_CODE.format(steps=CYCLEGAN_STEPS), str(directory)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cyclegan_resumes_after_kill(tmp_path):
    killed_dir, reference_dir = tmp_path / "killed", tmp_path / "reference"
    killed_dir.mkdir()
    reference_dir.mkdir()

    process = run_cyclegan(killed_dir)
    wait_for_state(killed_dir / "state" / "state.pt", min_step=20)
    process.send_signal(signal.SIGKILL)
    process.wait()
    saved_step = torch.load(killed_dir / "state" / "state.pt", weights_only=True)["step"]
    assert 20 <= saved_step < CYCLEGAN_STEPS
    assert not (killed_dir / "AtoB.pt").exists()

    rerun = run_cyclegan(killed_dir)
    _, rerun_log = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, rerun_log
    assert f"resuming training from saved step {saved_step} of {CYCLEGAN_STEPS}" in rerun_log
    reference = run_cyclegan(reference_dir)
    _, reference_log = reference.communicate(timeout=300)
    assert reference.returncode == 0, reference_log

    pd.testing.assert_frame_equal(
        pd.read_csv(killed_dir / "loss.csv"), pd.read_csv(reference_dir / "loss.csv")
    )
    for direction in ("AtoB", "BtoA"):
        resumed = torch.load(killed_dir / f"{direction}.pt", weights_only=True)["state_dict"]
        uninterrupted = torch.load(reference_dir / f"{direction}.pt", weights_only=True)
        for key, value in uninterrupted["state_dict"].items():
            assert torch.equal(resumed[key], value), key

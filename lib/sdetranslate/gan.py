"""Networks and the image history buffer of the GAN baselines, pix2pix and CycleGAN.

Written from the published descriptions: Isola et al., "Image-to-Image
Translation with Conditional Adversarial Networks" (CVPR 2017) for the U-Net
generator and the PatchGAN discriminator, and Zhu et al., "Unpaired
Image-to-Image Translation using Cycle-Consistent Adversarial Networks"
(ICCV 2017) for the ResNet generator and the history buffer.

Every network uses instance normalization. pix2pix uses batch normalization
with the statistics of the test batch at test time, which is instance
normalization at its batch size of 1. Instance normalization keeps that
behaviour at every batch size, so a translation does not depend on the other
images of its batch. Images are in [-1, 1].
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from sdetranslate.io import load_torch, save_torch

GENERATOR_FORMAT = "sdetranslate.gan_generator/1"
# Receptive field of the published 70x70 PatchGAN, on 256x256 images.
PUBLISHED_RECEPTIVE_FIELD = 70
PUBLISHED_IMAGE_SIZE = 256


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=True)


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """Draw convolution weights from N(0, std²), as published, and normalization scales from N(1, std²)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.InstanceNorm2d) and layer.affine:
            nn.init.normal_(layer.weight, 1.0, std)
            nn.init.zeros_(layer.bias)


class UNetGenerator(nn.Module):
    """The pix2pix U-Net: an encoder down to 1x1, a mirrored decoder and skip connections between them.

    The encoder has log2(image_size) convolutions of kernel 4 and stride 2
    with channels base, 2·base, 4·base, 8·base, 8·base, ... (6 levels at
    64x64, 5 at 32x32). Each decoder level concatenates the encoder features of
    its resolution. Dropout with rate `dropout` follows the three innermost
    decoder levels and is active at training and test time alike, because it
    is the generator's only noise source.
    """

    def __init__(self, image_size: int, base_channels: int = 64, dropout: float = 0.5):
        super().__init__()
        n_levels = int(round(math.log2(image_size)))
        if 2**n_levels != image_size or n_levels < 3:
            raise ValueError(
                f"the U-Net generator needs a power-of-two image_size of at least 8, got {image_size}"
            )
        self.config = {"image_size": image_size, "base_channels": base_channels, "dropout": dropout}
        self.dropout = dropout
        channels = [min(base_channels * 2**level, base_channels * 8) for level in range(n_levels)]

        self.encoder = nn.ModuleList()
        for level, out_channels in enumerate(channels):
            in_channels = 3 if level == 0 else channels[level - 1]
            innermost = level == n_levels - 1
            layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 4, 2, 1)]
            # No normalization on the first level, as published, nor at the 1x1 innermost level.
            if 0 < level < n_levels - 1:
                layers.append(_norm(out_channels))
            layers.append(nn.ReLU() if innermost else nn.LeakyReLU(0.2))
            self.encoder.append(nn.Sequential(*layers))

        # decoder[k] upsamples from encoder level n_levels - 1 - k.
        self.decoder = nn.ModuleList()
        for level in reversed(range(n_levels)):
            in_channels = channels[level] * (1 if level == n_levels - 1 else 2)
            if level == 0:
                self.decoder.append(
                    nn.Sequential(nn.ConvTranspose2d(in_channels, 3, 4, 2, 1), nn.Tanh())
                )
            else:
                out_channels = channels[level - 1]
                self.decoder.append(
                    nn.Sequential(
                        nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1), _norm(out_channels)
                    )
                )
        self.n_dropout_levels = min(3, n_levels - 1)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
        skips.pop()  # the innermost features enter the decoder directly
        for index, block in enumerate(self.decoder):
            x = block(x)
            if index == len(self.decoder) - 1:
                return x
            if index < self.n_dropout_levels and self.dropout > 0:
                x = F.dropout(x, self.dropout, training=True)
            x = torch.cat([F.relu(x), skips.pop()], dim=1)
        raise AssertionError("unreachable")


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with reflection padding and instance normalization, added to the input."""

    def __init__(self, channels: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """The CycleGAN generator: c7s1-k, d2k, d4k, `n_blocks` residual blocks R4k, u2k, uk, c7s1-3.

    k is `base_channels`. The two stride-2 convolutions divide the image side
    by 4, so it must be a multiple of 4. The published network uses 6 blocks
    for 128x128 images and 9 for 256x256.
    """

    def __init__(self, base_channels: int = 64, n_blocks: int = 6):
        super().__init__()
        if n_blocks < 1:
            raise ValueError(f"n_blocks must be at least 1, got {n_blocks}")
        self.config = {"base_channels": base_channels, "n_blocks": n_blocks}
        k = base_channels
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(3, k, 7),
            _norm(k),
            nn.ReLU(),
            nn.Conv2d(k, 2 * k, 3, 2, 1),
            _norm(2 * k),
            nn.ReLU(),
            nn.Conv2d(2 * k, 4 * k, 3, 2, 1),
            _norm(4 * k),
            nn.ReLU(),
        ]
        layers += [ResidualBlock(4 * k) for _ in range(n_blocks)]
        layers += [
            nn.ConvTranspose2d(4 * k, 2 * k, 3, 2, 1, output_padding=1),
            _norm(2 * k),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * k, k, 3, 2, 1, output_padding=1),
            _norm(k),
            nn.ReLU(),
            nn.ReflectionPad2d(3),
            nn.Conv2d(k, 3, 7),
            nn.Tanh(),
        ]
        self.network = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(
                f"the ResNet generator needs image sides divisible by 4, got {tuple(x.shape[-2:])}"
            )
        return self.network(x)


def patchgan_receptive_field(n_layers: int) -> int:
    """Return the receptive field in pixels of a PatchGAN with `n_layers` stride-2 convolutions.

    All convolutions have kernel 4, and two stride-1 convolutions follow the
    stride-2 ones. 1 layer gives 16x16 patches, 2 give 34x34 and 3 give 70x70.
    """
    strides = [2] * n_layers + [1, 1]
    field = 1
    for stride in reversed(strides):
        field = field * stride + (4 - stride)
    return field


def patchgan_layers_for(image_size: int) -> int:
    """Return the stride-2 layers whose receptive field is the nearest to 70/256 of the image side.

    The published discriminator judges 70x70 patches of 256x256 images, a
    little over a quarter of the side. At 64x64 the nearest is 1 layer with a
    16x16 receptive field, a quarter of the side. At 32x32 it is 1 layer too,
    because that is the fewest possible. At 256x256 it is 3 layers (70x70).
    """
    target = PUBLISHED_RECEPTIVE_FIELD * image_size / PUBLISHED_IMAGE_SIZE
    candidates = [n for n in range(1, 6) if 2**n <= image_size // 4] or [1]
    return min(candidates, key=lambda n: abs(patchgan_receptive_field(n) - target))


class PatchDiscriminator(nn.Module):
    """A PatchGAN: a convolutional classifier that outputs one real/fake logit per image patch.

    Layers: C(base) with stride 2 and no normalization, then `n_layers` - 1
    further stride-2 convolutions doubling the channels (at most 8·base), one
    stride-1 convolution and a stride-1 convolution to one channel, all with
    kernel 4 and LeakyReLU(0.2). `receptive_field` is the side of the patch
    that each output depends on (see `patchgan_receptive_field`).
    """

    def __init__(self, in_channels: int, base_channels: int = 64, n_layers: int = 1):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be at least 1, got {n_layers}")
        self.receptive_field = patchgan_receptive_field(n_layers)
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, base_channels, 4, 2, 1),
            nn.LeakyReLU(0.2),
        ]
        channels = base_channels
        for layer in range(1, n_layers + 1):
            out_channels = min(base_channels * 2**layer, base_channels * 8)
            stride = 2 if layer < n_layers else 1
            layers += [
                nn.Conv2d(channels, out_channels, 4, stride, 1),
                _norm(out_channels),
                nn.LeakyReLU(0.2),
            ]
            channels = out_channels
        layers.append(nn.Conv2d(channels, 1, 4, 1, 1))
        self.network = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)


class HistoryBuffer:
    """The history of generated images that CycleGAN's discriminators are trained on.

    For each image of a batch: while fewer than `size` images are stored, the
    image is stored and returned. Once the buffer is full, with probability 0.5
    the image replaces a uniformly drawn stored image, which is returned in its
    place, and otherwise the image itself is returned. Draws come from the
    buffer's own seeded generator, so the buffer's state can be saved and resumed.
    """

    def __init__(self, size: int = 50, seed: int = 0, device: torch.device | str = "cpu"):
        if size < 0:
            raise ValueError(f"history buffer size must not be negative, got {size}")
        self.size = size
        self.device = torch.device(device)
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch of the same shape: the given images mixed with stored ones (detached)."""
        images = images.detach()
        if self.size == 0:
            return images
        returned = []
        for image in images:
            if len(self.images) < self.size:
                self.images.append(image.clone())
                returned.append(image)
            elif torch.rand((), generator=self.generator).item() < 0.5:
                index = int(torch.randint(len(self.images), (), generator=self.generator))
                returned.append(self.images[index])
                self.images[index] = image.clone()
            else:
                returned.append(image)
        return torch.stack(returned)

    def state_dict(self) -> dict:
        return {
            "images": [image.cpu() for image in self.images],
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.images = [image.to(self.device) for image in state["images"]]
        self.generator.set_state(state["generator"])


def build_generator(architecture: str, config: dict) -> nn.Module:
    """Create a generator from the `architecture` ("unet" or "resnet") and the `config` it records."""
    if architecture == "unet":
        return UNetGenerator(**config)
    if architecture == "resnet":
        return ResnetGenerator(**config)
    raise ValueError(f"unknown generator architecture {architecture!r}; expected unet or resnet")


def save_generator(
    path: str | Path,
    generator: nn.Module,
    *,
    architecture: str,
    method: str,
    direction: str,
    domains: list[str],
    step: int,
) -> None:
    """Write a generator's weights with what translation needs to rebuild it."""
    payload = {
        "format": GENERATOR_FORMAT,
        "architecture": architecture,
        "config": dict(generator.config),
        "state_dict": {key: value.cpu() for key, value in generator.state_dict().items()},
        "method": method,
        "direction": direction,
        "domains": list(domains),
        "step": step,
    }
    save_torch(payload, path)


def load_generator(path: str | Path, device: torch.device) -> tuple[nn.Module, dict]:
    """Load a generator written by `save_generator` in eval mode and return it with its metadata."""
    payload = load_torch(path, map_location=device)
    if not isinstance(payload, dict) or payload.get("format") != GENERATOR_FORMAT:
        raise ValueError(
            f"{path} is not a GAN generator written by this pipeline; rerun its training rule"
        )
    generator = build_generator(payload["architecture"], payload["config"])
    generator.load_state_dict(payload["state_dict"])
    generator.to(device).eval()
    return generator, payload

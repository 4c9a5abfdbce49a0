"""Conditional UNet that parameterizes the score s_θ(x_t, c, t).

The layout follows the DDPM UNet: residual blocks with a time embedding,
self-attention at chosen resolutions, and skip connections between the
downsampling and upsampling paths. The condition image is concatenated
with the noisy image on the channel axis, so the first convolution takes
`in_channels + cond_channels` channels.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class UNetConfig:
    """Architecture hyperparameters of `ConditionalUNet`."""

    image_size: int = 64
    in_channels: int = 3
    cond_channels: int = 3
    base_channels: int = 64
    channel_mult: tuple[int, ...] = (1, 2, 4, 8)
    num_res_blocks: int = 2
    attn_resolutions: tuple[int, ...] = (16,)
    dropout: float = 0.2

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, settings: dict) -> "UNetConfig":
        """Build a config from `to_dict` output or config-file values, where tuples may be lists."""
        return cls(
            **{key: tuple(value) if isinstance(value, list) else value for key, value in settings.items()}
        )


PRESETS: dict[str, dict] = {
    # The architecture of the dissertation: base width 64, multipliers 1, 2, 4, 8,
    # two residual blocks per level, attention at 16x16 and dropout 0.2.
    "paper": dict(
        base_channels=64,
        channel_mult=(1, 2, 4, 8),
        num_res_blocks=2,
        attn_resolutions=(16,),
        dropout=0.2,
    ),
    # Trains on 2 CPU cores in minutes at 32x32 (1500 steps of batch 16 in about 4 minutes).
    "small": dict(
        base_channels=16,
        channel_mult=(1, 2, 2),
        num_res_blocks=1,
        attn_resolutions=(),
        dropout=0.1,
    ),
    # For tests: a few hundred thousand parameters.
    "tiny": dict(
        base_channels=16,
        channel_mult=(1, 2),
        num_res_blocks=1,
        attn_resolutions=(),
        dropout=0.0,
    ),
}


def unet_config_from_preset(preset: str, image_size: int, **overrides) -> UNetConfig:
    """Build a `UNetConfig` from a named preset, with optional per-key overrides."""
    if preset not in PRESETS:
        raise ValueError(f"unknown UNet preset {preset!r}; choose one of {sorted(PRESETS)}")
    values = dict(PRESETS[preset])
    values.update({key: value for key, value in overrides.items() if value is not None})
    for key in ("channel_mult", "attn_resolutions"):
        values[key] = tuple(values[key])
    return UNetConfig(image_size=image_size, **values)


def _num_groups(channels: int) -> int:
    """Return the GroupNorm group count: 32 where it divides `channels`, else the largest divisor up to 32."""
    return math.gcd(32, channels)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of continuous times t of shape [B] into [B, dim]."""
    half = dim // 2
    frequencies = torch.exp(
        -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half
    )
    # Times in [0, 1] are scaled to [0, 999], the range of the discrete DDPM timesteps.
    angles = 999.0 * t.float()[:, None] * frequencies[None, :]
    embedding = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    if dim % 2 == 1:
        embedding = F.pad(embedding, (0, 1))
    return embedding


class ResBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, temb_channels: int, dropout: float):
        super().__init__()
        self.norm1 = nn.GroupNorm(_num_groups(in_channels), in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.temb_proj = nn.Linear(temb_channels, out_channels)
        self.norm2 = nn.GroupNorm(_num_groups(out_channels), out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = (
            nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()
        )

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class AttnBlock(nn.Module):
    """Single-head self-attention over all spatial positions."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.GroupNorm(_num_groups(channels), channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(batch, 3, channels, height * width).unbind(1)
        out = F.scaled_dot_product_attention(
            q.transpose(1, 2)[:, None], k.transpose(1, 2)[:, None], v.transpose(1, 2)[:, None]
        )
        out = out[:, 0].transpose(1, 2).reshape(batch, channels, height, width)
        return x + self.proj(out)


class Downsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class ConditionalUNet(nn.Module):
    """UNet mapping (x_t, c, t) to a noise prediction with the shape of x_t."""

    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = config
        levels = len(config.channel_mult)
        if config.image_size % (2 ** (levels - 1)) != 0:
            raise ValueError(
                f"image_size {config.image_size} is not divisible by 2**{levels - 1}, "
                f"which {levels} channel multipliers need; choose a size that is"
            )
        base = config.base_channels
        temb_channels = 4 * base
        self.temb = nn.Sequential(
            nn.Linear(base, temb_channels), nn.SiLU(), nn.Linear(temb_channels, temb_channels)
        )
        self.conv_in = nn.Conv2d(config.in_channels + config.cond_channels, base, 3, padding=1)

        self.down = nn.ModuleList()
        skip_channels = [base]
        channels = base
        resolution = config.image_size
        for level, mult in enumerate(config.channel_mult):
            for _ in range(config.num_res_blocks):
                out_channels = base * mult
                block = nn.ModuleList([ResBlock(channels, out_channels, temb_channels, config.dropout)])
                if resolution in config.attn_resolutions:
                    block.append(AttnBlock(out_channels))
                self.down.append(block)
                channels = out_channels
                skip_channels.append(channels)
            if level != levels - 1:
                self.down.append(nn.ModuleList([Downsample(channels)]))
                skip_channels.append(channels)
                resolution //= 2

        self.mid = nn.ModuleList(
            [
                ResBlock(channels, channels, temb_channels, config.dropout),
                AttnBlock(channels),
                ResBlock(channels, channels, temb_channels, config.dropout),
            ]
        )

        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(config.channel_mult))):
            for _ in range(config.num_res_blocks + 1):
                out_channels = base * mult
                block = nn.ModuleList(
                    [ResBlock(channels + skip_channels.pop(), out_channels, temb_channels, config.dropout)]
                )
                if resolution in config.attn_resolutions:
                    block.append(AttnBlock(out_channels))
                self.up.append(block)
                channels = out_channels
            if level != 0:
                self.up.append(nn.ModuleList([Upsample(channels)]))
                resolution *= 2

        self.norm_out = nn.GroupNorm(_num_groups(channels), channels)
        self.conv_out = nn.Conv2d(channels, config.in_channels, 3, padding=1)
        # A zero output layer makes the initial noise prediction 0, as in DDPM.
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    @staticmethod
    def _run_block(block: nn.ModuleList, h: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        for layer in block:
            h = layer(h, temb) if isinstance(layer, ResBlock) else layer(h)
        return h

    def forward(self, x: torch.Tensor, cond: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if x.shape != cond.shape[:1] + (self.config.in_channels,) + cond.shape[2:]:
            raise ValueError(
                f"noisy image shape {tuple(x.shape)} and condition shape {tuple(cond.shape)} "
                "must match in batch and spatial size"
            )
        temb = self.temb(timestep_embedding(t, self.config.base_channels))
        h = self.conv_in(torch.cat([x, cond], dim=1))
        skips = [h]
        for block in self.down:
            h = self._run_block(block, h, temb)
            skips.append(h)
        h = self._run_block(self.mid, h, temb)
        for block in self.up:
            if isinstance(block[0], ResBlock):
                h = torch.cat([h, skips.pop()], dim=1)
            h = self._run_block(block, h, temb)
        return self.conv_out(F.silu(self.norm_out(h)))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "PRESETS",
    "UNetConfig",
    "ConditionalUNet",
    "count_parameters",
    "unet_config_from_preset",
    "timestep_embedding",
]

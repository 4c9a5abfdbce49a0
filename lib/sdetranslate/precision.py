"""Arithmetic precision of training and sampling: float32, or bfloat16 autocast.

With `bf16` the network's convolutions and matrix products run in bfloat16
under `torch.autocast`. The arithmetic that follows, with float32 operands,
promotes the output to float32, so losses, optimizer state, EMA weights and
sampler iterates stay in float32. On the CPU
the network is also switched to the channels-last memory layout, which the
bfloat16 convolution kernels run fastest in.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    return precision


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """Return the context in which network forwards run at `precision` on `device`."""
    if check_precision(precision) == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def prepare_model(model: nn.Module, precision: str, device: torch.device) -> nn.Module:
    """Move `model` to the memory layout that suits `precision` on `device`; weights stay float32."""
    if check_precision(precision) == "bf16" and device.type == "cpu":
        model.to(memory_format=torch.channels_last)
    return model

"""Exponential moving average of model weights."""

from __future__ import annotations

import torch
from torch import nn


class ExponentialMovingAverage:
    """Shadow copy of a model's parameters, updated as θ_ema ← d θ_ema + (1 - d) θ.

    The decay ramps up from the first step as d = min(decay, (1 + step) / (10 + step)),
    so the random initialization drops out of the average within the first few hundred
    steps and short runs do not sample from near-initial weights.
    """

    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must lie in [0, 1), got {decay}")
        self.decay = float(decay)
        self.shadow = [p.detach().clone() for p in model.parameters()]

    def decay_at(self, step: int) -> float:
        """Return the decay used for the update after optimizer step `step` (counted from 0)."""
        return min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        decay = self.decay_at(step)
        parameters = [param.detach() for param in model.parameters()]
        if len(parameters) != len(self.shadow):
            raise ValueError(f"model has {len(parameters)} parameters but the EMA tracks {len(self.shadow)}")
        # One fused update over all tensors instead of a Python loop per parameter.
        torch._foreach_lerp_(self.shadow, parameters, 1.0 - decay)

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Overwrite the model's parameters with the averaged ones."""
        for shadow, param in zip(self.shadow, model.parameters(), strict=True):
            param.copy_(shadow)

    def state_dict(self) -> dict:
        return {"decay": self.decay, "shadow": [s.clone() for s in self.shadow]}

    def load_state_dict(self, state: dict) -> None:
        if len(state["shadow"]) != len(self.shadow):
            raise ValueError(
                f"EMA state has {len(state['shadow'])} tensors but the model has {len(self.shadow)} parameters"
            )
        self.decay = float(state["decay"])
        self.shadow = [s.to(p.device).clone() for s, p in zip(state["shadow"], self.shadow)]

"""One view of prepared splits, paired or unpaired, per translation direction.

A paired split contains images `a` and `b` under shared `names`. An unpaired split
contains `a` with `names_a` and `b` with `names_b`, and optionally the other-domain
counterparts `a_counterpart` and `b_counterpart` that serve as ground truth.
Direction "AtoB" translates domain A images into domain B, and "BtoA" the reverse.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from sdetranslate.data.prepare import check_paired_split
from sdetranslate.data.prepare_unpaired import check_unpaired_split
from sdetranslate.io import load_torch

# "AtoB" translates domain A images into domain B, and "BtoA" the reverse.
DIRECTIONS = ("AtoB", "BtoA")


def load_split(path: str | os.PathLike) -> dict:
    """Load and validate a prepared split of either layout; `layout` is added to the result."""
    path = Path(path)
    data = load_torch(path)
    if isinstance(data, dict) and "names_a" in data:
        split = check_unpaired_split(data, path)
        split["layout"] = "unpaired"
    else:
        split = check_paired_split(data, path)
        split["layout"] = "paired"
    return split


@dataclass
class DirectionView:
    """The images of a split that one direction translates, with their ground truth where known.

    `condition` and `target` are uint8 [N, 3, H, W] in the order of `names`.
    `target` is None for unpaired data without counterparts. `target_domain_images`
    are all images of the target domain in the split, paired with the condition or not.
    """

    direction: str
    names: list[str]
    condition: torch.Tensor
    target: torch.Tensor | None
    target_domain_images: torch.Tensor
    domains: list[str]

    @property
    def source_domain(self) -> str:
        return self.domains[0] if self.direction == "AtoB" else self.domains[1]

    @property
    def target_domain(self) -> str:
        return self.domains[1] if self.direction == "AtoB" else self.domains[0]

    @property
    def label(self) -> str:
        """Readable direction such as "satellite → map"."""
        return f"{self.source_domain} → {self.target_domain}"


def direction_view(split: dict, direction: str) -> DirectionView:
    """Return what `direction` translates in a split loaded with `load_split`."""
    if direction not in DIRECTIONS:
        raise ValueError(f"invalid direction {direction!r}; expected one of {', '.join(DIRECTIONS)}")
    source, target = ("a", "b") if direction == "AtoB" else ("b", "a")
    domains = [str(domain) for domain in split["domains"]]
    if "names_a" in split:
        return DirectionView(
            direction=direction,
            names=[str(name) for name in split[f"names_{source}"]],
            condition=split[source],
            target=split.get(f"{source}_counterpart"),
            target_domain_images=split[target],
            domains=domains,
        )
    return DirectionView(
        direction=direction,
        names=[str(name) for name in split["names"]],
        condition=split[source],
        target=split[target],
        target_domain_images=split[target],
        domains=domains,
    )

"""The degradation ladder: real images made worse in the ways generators get them wrong, each at rising
strength, for benchmarks/degradation_ladder.py and the test that every default metric grows with the strength.

Noise is clamped to [0, 1]; "contrast" scales the images about mid-gray (x s + (1 - s) / 2: halved contrast puts
the digits on a gray background); "shuffled" permutes each image's pixels (every structure gone, the pixel
histogram kept).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..ops.augment import add_noise, contrast, gaussian_blur

# degradation -> its strengths, weakest first (what the ladder table and the monotonicity test use)
LADDER = {
    "noise": (0.1, 0.2, 0.3),  # Gaussian noise sigma, pixels in [0, 1]
    "blur": (1.0, 2.0),  # Gaussian blur sigma, px
    "contrast": (0.75, 0.5),  # contrast kept about mid-gray
}


def degraded(images: Tensor, kind: str, strength: float, seed: int = 0) -> Tensor:
    """``images`` [N, C, H, W] in [0, 1] under one degradation of the ladder (noise drawn with ``seed``)."""
    if kind == "noise":
        return add_noise(images, strength, torch.Generator().manual_seed(seed))
    if kind == "blur":
        return gaussian_blur(images, strength)
    if kind == "contrast":
        return contrast(images, strength, (1 - strength) / 2)
    raise ValueError(f"unknown degradation {kind!r}; one of {', '.join(LADDER)}")


def shuffled(images: Tensor, seed: int = 0) -> Tensor:
    """Each image's pixels in its own random order (the same permutation for its channels)."""
    n, c = images.shape[:2]
    flat = images.flatten(2)
    order = torch.rand(n, flat.shape[-1], generator=torch.Generator().manual_seed(seed)).argsort(dim=1)
    return flat.gather(2, order[:, None].expand(n, c, -1)).view_as(images)


def ladder_sets(images: Tensor, seed: int = 0) -> dict[str, Tensor]:
    """The clean images, every rung of ``LADDER`` (named like "noise 0.1") and the shuffled images."""
    sets = {"clean": images}
    for kind, strengths in LADDER.items():
        sets.update({f"{kind} {s:g}": degraded(images, kind, s, seed) for s in strengths})
    return {**sets, "shuffled": shuffled(images, seed)}

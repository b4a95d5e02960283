"""Toy 2-D mixtures of the mode-collapse literature (Lin et al. 2018, PacGAN; Srivastava et al. 2017, VEEGAN):
``toy2d:ring8`` and ``toy2d:grid25``."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..errors import GenlabError
from .catalog import point_centers  # noqa: F401  (its old place; import it from genlab.data)
from .images import ImageData
from .spec import DatasetSpec, register_dataset

SPLIT_SIZES = {"train": 100_000, "test": 2_500, "valid": 2_500}
SPLIT_SEEDS = {"train": 0, "test": 1, "valid": 2}


def ring8_centers() -> Tensor:
    """8 modes evenly spaced on the unit circle."""
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return torch.stack([torch.cos(angles), torch.sin(angles)], dim=1).float()


def grid25_centers() -> Tensor:
    """25 modes at {-4, -2, 0, 2, 4}^2."""
    coords = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    xs, ys = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], dim=1)


MIXTURES = {"ring8": (ring8_centers, 0.01), "grid25": (grid25_centers, 0.05)}


def mixture(name: str) -> tuple[Tensor, float]:
    """(mode centers [M, 2], per-mode standard deviation) of a named mixture."""
    if name not in MIXTURES:
        raise GenlabError(
            f"unknown toy dataset toy2d:{name}; choose one of: " + ", ".join(f"toy2d:{n}" for n in MIXTURES)
        )
    make, std = MIXTURES[name]
    return make(), std


def sample_mixture(name: str, n: int, seed: int) -> tuple[Tensor, Tensor]:
    """n points from an equal-weight Gaussian mixture and the index of the mode each came from."""
    centers, std = mixture(name)
    gen = torch.Generator().manual_seed(seed)
    modes = torch.randint(len(centers), (n,), generator=gen)
    return centers[modes] + std * torch.randn(n, 2, generator=gen), modes


def load_toy2d(name: str, split: str = "train") -> ImageData:
    """A fixed, seeded split of points (float [N, 2]); labels are the mode indices."""
    if split not in SPLIT_SIZES:
        raise GenlabError(f"toy datasets have splits {', '.join(SPLIT_SIZES)}, not {split!r}")
    points, modes = sample_mixture(name, SPLIT_SIZES[split], 1000 + SPLIT_SEEDS[split])
    centers, _ = mixture(name)
    return ImageData(points, modes, [str(i) for i in range(len(centers))], f"toy2d:{name}")


register_dataset(
    DatasetSpec(
        "toy2d",
        lambda split, options: load_toy2d(options.argument, split),
        tuple(SPLIT_SIZES),
        "points",
        argument="|".join(MIXTURES),
        point_modes=mixture,
    )
)

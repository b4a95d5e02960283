"""Blocks of a hierarchical VAE (Vahdat & Kautz 2020, NVAE Fig. 3 and Sec. 3): residual cells gated by
squeeze-and-excitation (Hu et al. 2018), and one group of spatial latents of the top-down path whose posterior is
parametrised relative to its prior."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..ops import DiagonalGaussian

CELLS = ("plain", "separable")
RESIDUAL_SCALE = 0.1  # each cell adds 0.1 f(x), as NVAE's cells do, so that a deep stack starts near the identity


class SqueezeExcite(nn.Module):
    """x times a per-channel gate from its global average (Hu et al. 2018)."""

    def __init__(self, width: int, reduction: int = 4):
        super().__init__()
        hidden = max(width // reduction, 4)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(width, hidden, 1), nn.SiLU(), nn.Conv2d(hidden, width, 1), nn.Sigmoid()
        )

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(x)


def plain_branch(width: int) -> list[nn.Module]:
    """BN-Swish-conv3x3 twice (NVAE's encoder cell)."""
    return [
        nn.BatchNorm2d(width),
        nn.SiLU(),
        nn.Conv2d(width, width, 3, padding=1),
        nn.BatchNorm2d(width),
        nn.SiLU(),
        nn.Conv2d(width, width, 3, padding=1),
    ]


def separable_branch(width: int, expand: int = 3) -> list[nn.Module]:
    """BN-conv1x1 (expand)-BN-Swish-depthwise 5x5-BN-Swish-conv1x1-BN (NVAE's generative cell)."""
    inner = width * expand
    return [
        nn.BatchNorm2d(width),
        nn.Conv2d(width, inner, 1),
        nn.BatchNorm2d(inner),
        nn.SiLU(),
        nn.Conv2d(inner, inner, 5, padding=2, groups=inner),
        nn.BatchNorm2d(inner),
        nn.SiLU(),
        nn.Conv2d(inner, width, 1),
        nn.BatchNorm2d(width),
    ]


class ResidualCell(nn.Module):
    """x + 0.1 SE(f(x)), f a plain or depthwise-separable branch."""

    def __init__(self, width: int, cell: str = "plain", squeeze_excite: bool = True):
        super().__init__()
        layers = plain_branch(width) if cell == "plain" else separable_branch(width)
        self.branch = nn.Sequential(*layers, *([SqueezeExcite(width)] if squeeze_excite else []))

    def forward(self, x: Tensor) -> Tensor:
        return x + RESIDUAL_SCALE * self.branch(x)


def cell_stack(width: int, cells: int, cell: str, squeeze_excite: bool) -> nn.Sequential:
    """``cells`` residual cells in a row."""
    return nn.Sequential(*(ResidualCell(width, cell, squeeze_excite) for _ in range(cells)))


def soft_clamp(x: Tensor, bound: float = 5.0) -> Tensor:
    """bound * tanh(x / bound): the identity near 0, never past +-bound (NVAE's clamp of means and log-scales)."""
    return bound * torch.tanh(x / bound)


def gaussian(params: Tensor) -> DiagonalGaussian:
    """N(mu, sigma^2) from [mu, log sigma] along channels, both soft-clamped."""
    mean, log_std = soft_clamp(params).chunk(2, dim=1)
    return DiagonalGaussian(mean, 2 * log_std)


class LatentGroup(nn.Module):
    """One group of z [zc, r, r] in the top-down path: prior p(z | h) from the state h (or N(0, I) at the top),
    posterior q(z | h, x) from h and the bottom-up feature, then h <- cells(h + W z) (Vahdat & Kautz 2020, Fig. 2)."""

    def __init__(self, width: int, latent_channels: int, cells: int, cell: str, squeeze_excite: bool, prior: bool):
        super().__init__()
        self.prior = nn.Conv2d(width, 2 * latent_channels, 3, padding=1) if prior else None
        self.posterior = nn.Conv2d(2 * width, 2 * latent_channels, 3, padding=1)
        self.project = nn.Conv2d(latent_channels, width, 1)
        self.cells = cell_stack(width, cells, cell, squeeze_excite)
        self.latent_channels = latent_channels
        for conv in (self.prior, self.posterior):  # start at q = p = N(0, I): no KL to blow up before it is weighed
            if conv is not None:
                nn.init.zeros_(conv.weight)
                nn.init.zeros_(conv.bias)

    def prior_of(self, h: Tensor) -> DiagonalGaussian:
        """p(z | z_above), through the state h; N(0, I) for a top group without a learned prior."""
        if self.prior is None:
            return DiagonalGaussian.standard(h.new_zeros(h.shape[0], self.latent_channels, *h.shape[2:]))
        return gaussian(self.prior(h).float())

    def posterior_of(self, h: Tensor, feature: Tensor, prior: DiagonalGaussian, residual: bool) -> DiagonalGaussian:
        """q(z | z_above, x); residual: N(mu_p + dmu, (sigma_p dsigma)^2) (NVAE Eq. 2), so zero outputs give q = p."""
        delta = gaussian(self.posterior(torch.cat([h, feature], dim=1)).float())
        if not residual:
            return delta
        return DiagonalGaussian(prior.mean + delta.mean, prior.log_var + delta.log_var)

    def absorb(self, h: Tensor, z: Tensor) -> Tensor:
        """The state after this group: the cells applied to h plus the projected latent."""
        return self.cells(h + self.project(z.to(h.dtype)))

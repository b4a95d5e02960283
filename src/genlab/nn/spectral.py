"""Spectral normalization (Miyato et al. 2018) as an optional wrapper for discriminator layers."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn
from torch.nn.utils import spectral_norm


def spectral_wrap(spectral: bool) -> Callable[[nn.Module], nn.Module]:
    """spectral_norm for every layer when asked, else the layer itself."""
    return spectral_norm if spectral else (lambda m: m)

"""Spectral normalization (Miyato et al. 2018) as an optional wrapper for discriminator layers, and a spectral
penalty for encoders."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import spectral_norm


def spectral_wrap(spectral: bool) -> Callable[[nn.Module], nn.Module]:
    """spectral_norm for every layer when asked, else the layer itself."""
    return spectral_norm if spectral else (lambda m: m)


class SpectralPenalty(nn.Module):
    """The sum of the largest singular values of some convolutions' weights (reshaped to [out, in k k]), each
    estimated by one power iteration per call that carries its vector over (Yoshida & Miyato 2017; Vahdat & Kautz
    2020, Sec. 3.2 regularise an encoder with it); differentiable in the weights."""

    def __init__(self, convs: list[nn.Conv2d]):
        super().__init__()
        self.convs = convs  # a plain list: the layers belong to the model, not to this module
        for i, conv in enumerate(convs):
            self.register_buffer(f"u{i}", F.normalize(torch.randn(conv.weight.shape[0]), dim=0))

    def forward(self) -> Tensor:
        total = torch.zeros((), device=self.u0.device)
        for i, conv in enumerate(self.convs):
            weight, u = conv.weight.flatten(1), getattr(self, f"u{i}")
            with torch.no_grad():
                v = F.normalize(weight.t() @ u, dim=0)
                u.copy_(F.normalize(weight @ v, dim=0))
            total = total + u @ weight @ v
        return total

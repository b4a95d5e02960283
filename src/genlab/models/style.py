"""Style codes for the two-way translators (MUNIT, Huang et al. 2018; Augmented CycleGAN, Almahairi et al. 2018):
a translation draws the target's style s ~ N(0, I), a per-domain encoder reads the style of real images (so a
cycle can restore what the other domain lacks, such as mnistm's background), and the style reconstruction
|E_t(G(x, s)) - s| makes the generator use s. A deterministic translator maps each input to one output and can
drop a whole mode of the target (dark digits on bright backgrounds); a style code lets it draw every mode."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor, nn

from ..errors import GenlabError
from ..nn.style import StyleEncoder, check_style


@dataclass
class StyleConfig:
    """The style-code options every two-way translator shares (off by default: deterministic, as in the papers)."""

    style_dim: int = 0  # numbers in a domain's style code (MUNIT: 8); 0 = a deterministic translator
    style_width: int = 16  # width of each style encoder's first layer
    style_weight: float = 1.0  # weight of the style reconstruction |E(G(x, s)) - s|_1 (MUNIT's lambda_s: 1)
    diversity_weight: float = 0.0  # weight of the mode-seeking term |G(x, s1) - G(x, s2)| / |s1 - s2|; 0 = off


class StyleCodes(nn.Module):
    """One style encoder per domain (0 = A, 1 = B) and the N(0, I) prior of the codes a translation draws."""

    def __init__(self, config: Any):
        super().__init__()
        self.dim = config.style_dim
        self.encoders = nn.ModuleList(StyleEncoder(config.channels, config.style_width, config.style_dim)
                                      for _ in range(2))

    def encode(self, x: Tensor, domain: int) -> Tensor:
        """The style [B, dim] of images x in [-1, 1] of ``domain``."""
        return self.encoders[domain](x)

    def draw(self, like: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """len(like) codes from N(0, I) on like's device (from ``generator``, a CPU one, when given)."""
        if generator is None:
            return torch.randn(len(like), self.dim, device=like.device)
        return torch.randn(len(like), self.dim, generator=generator).to(like.device)

    def reconstruction(self, fake: Tensor, domain: int, style: Tensor) -> Tensor:
        """|E_domain(fake) - style|_1 per number: the generator must put the drawn style into its output."""
        return (self.encode(fake, domain) - style).abs().mean()

    def diversity(self, fake: Tensor, style: Tensor, render: Callable[[Tensor], Tensor]) -> Tensor:
        """Mode seeking (Mao et al. 2019; Yang et al. 2019, DSGAN): the batch mean of |G(x, s1) - G(x, s2)|_1 /
        |s1 - s2|_1 per image, for a second style s2 drawn now; ``render(s2)`` = G(x, s2). The generator maximizes it,
        so different styles must give different images: a mode one style drops, another can draw."""
        other = self.draw(style)
        apart = (fake - render(other)).abs().flatten(1).mean(1)
        return (apart / (style - other).abs().mean(1).clamp_min(1e-6)).mean()


def style_codes(config: Any) -> StyleCodes | None:
    """The style encoders of a translator config, or None for a deterministic one (style_dim 0); one clear line
    for a bad setting."""
    check_style(config.style_dim, config.style_width)
    if min(config.style_weight, config.diversity_weight) < 0:
        raise GenlabError("model.style_weight and model.diversity_weight must be >= 0")
    if config.diversity_weight and not config.style_dim:
        raise GenlabError("model.diversity_weight needs style codes to compare: set model.style_dim > 0 (e.g. 8)")
    return StyleCodes(config) if config.style_dim else None

"""Style codes for the two-way translators (MUNIT, Huang et al. 2018; Augmented CycleGAN, Almahairi et al. 2018):
a translation draws the target's style s ~ N(0, I), a per-domain encoder reads the style of real images (so a
cycle can restore what the other domain lacks, such as mnistm's background), and the style reconstruction
|E_t(G(x, s)) - s| makes the generator use s. A deterministic translator maps each input to one output and can
drop a whole mode of the target (dark digits on bright backgrounds); a style code lets it draw every mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ...errors import GenlabError
from ...nn.style import StyleEncoder, check_style
from .base import TERMS, Term, Translation

# style codes on digit pairs (each preset adds mode seeking at half its GAN weight): one MNIST digit drawn in every
# mnistm look, dark digits on light patches included
STYLE_DIGITS = ["model.style_dim=8"]


@dataclass
class StyleConfig:
    """The style-code options (off by default: deterministic, as in the papers)."""

    style_dim: int = 0  # numbers in a domain's style code (MUNIT: 8); 0 = a deterministic translator
    style_width: int = 16  # width of each style encoder's first layer
    style_weight: float = 1.0  # weight of the style reconstruction |E(G(x, s)) - s|_1 (MUNIT's lambda_s: 1)


@TERMS.register("style_codes")
class StyleCodes(Term):
    """One style encoder per domain (0 = A, 1 = B), the N(0, I) prior of the codes a translation draws, and the
    style reconstruction style_weight * |E_t(G(x, s)) - s|_1 (logged as "style"). The generators take its codes."""

    Config = StyleConfig
    renamed_from = {"styles.": ""}  # before terms were parts, the encoders sat in the translator's `styles`

    def __init__(self, config: Any):
        super().__init__(config)
        self.style_dim = config.style_dim
        self.encoders = nn.ModuleList(
            StyleEncoder(config.channels, config.style_width, config.style_dim) for _ in range(2)
        )

    @classmethod
    def check(cls, config: Any) -> None:
        check_style(config.style_dim, config.style_width)
        if config.style_weight < 0:
            raise GenlabError("model.style_weight must be >= 0")

    @classmethod
    def wanted(cls, config: Any) -> bool:
        return config.style_dim > 0

    def names(self) -> tuple[str, ...]:
        return ("style",)

    def encode(self, x: Tensor, domain: int) -> Tensor:
        """The style [B, style_dim] of images x in [-1, 1] of ``domain``."""
        return self.encoders[domain](x)

    def draw(self, like: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """len(like) codes from N(0, I) on like's device (from ``generator``, a CPU one, when given)."""
        if generator is None:
            return torch.randn(len(like), self.style_dim, device=like.device)
        return torch.randn(len(like), self.style_dim, generator=generator).to(like.device)

    def forward(self, translation: Translation) -> dict[str, Tensor]:
        """|E_target(fake) - style|_1 per number: the generator must put the drawn style into its output."""
        t = translation
        return {"style": (self.encode(t.fake, t.target) - t.style).abs().mean()}

    def loss(self, values: dict[str, Tensor]) -> Tensor:
        return self.config.style_weight * values["style"]

"""Mode seeking for translators with style codes (Mao et al. 2019; Yang et al. 2019, DSGAN): the generator
maximizes |G(x, s1) - G(x, s2)|_1 / |s1 - s2|_1, so different styles must give different images: a mode one style
drops, another can draw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor

from ...errors import GenlabError
from .base import TERMS, Term, Translation


@dataclass
class ModeSeekingConfig:
    """The mode-seeking option (off by default)."""

    diversity_weight: float = 0.0  # weight of the mode-seeking term |G(x, s1) - G(x, s2)| / |s1 - s2|; 0 = off


@TERMS.register("mode_seeking")
class ModeSeeking(Term):
    """- diversity_weight * the mode-seeking ratio (logged as "diversity"): the generator maximizes it."""

    Config = ModeSeekingConfig

    @classmethod
    def check(cls, config: Any) -> None:
        if config.diversity_weight < 0:
            raise GenlabError("model.diversity_weight (mode seeking between two styles) must be >= 0")
        if config.diversity_weight and not getattr(config, "style_dim", 0):
            raise GenlabError("model.diversity_weight needs style codes to compare: set model.style_dim > 0 (e.g. 8)")

    @classmethod
    def wanted(cls, config: Any) -> bool:
        return config.diversity_weight > 0

    def names(self) -> tuple[str, ...]:
        return ("diversity",) if self.config.diversity_weight else ()

    def forward(self, translation: Translation) -> dict[str, Tensor]:
        """The batch mean of |G(x, s1) - G(x, s2)|_1 / |s1 - s2|_1 per image, for a second style s2 drawn now."""
        t = translation
        if not self.config.diversity_weight:
            return {}
        other = t.draw_style(t.style)
        apart = (t.fake - t.render(other)).abs().flatten(1).mean(1)
        return {"diversity": (apart / (t.style - other).abs().mean(1).clamp_min(1e-6)).mean()}

    def loss(self, values: dict[str, Tensor]) -> Tensor | float:
        return -self.config.diversity_weight * values["diversity"] if "diversity" in values else 0.0

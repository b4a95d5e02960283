"""A model steered to one class by a classifier, drawn like any sampler, so grids, sample files (npz, png-dir)
and metrics take it: a diffusion model by classifier guidance (Dhariwal & Nichol 2021), a decoder by Plug & Play
(Nguyen et al. 2017)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import GenlabError
from ..models.capabilities import Model
from .plug_and_play import PNP_EPS, PNP_MAX_STEP, plug_and_play

Draw = Callable[[int, torch.Generator | None, dict[str, Any]], Tensor]  # (n, generator, options) -> images


class GuidedSampler:
    """``model``'s samples steered to class ``label`` of ``guide``: ``sample(n, generator)`` draws them; its
    classes are the guide's, so every sample's label is the class it was steered to."""

    points = False
    domains: tuple[str, ...] = ()

    def __init__(self, model: Model, guide: nn.Module, label: int, draw: Draw, how: str):
        self.model, self.guide, self.label, self.draw, self.how = model, guide, label, draw, how
        self.name, self.config, self.device = f"{model.name} ({how})", model.config, model.device
        self.num_classes = int(getattr(guide, "num_classes", 0) or 0)
        if not 0 <= label < self.num_classes:
            raise GenlabError(f"--label must be in 0..{self.num_classes - 1} (the guide's classes)")
        self.last_evaluations = 0

    def supports(self, method: str) -> bool:
        """It samples, and nothing else."""
        return method == "sample"

    def require(self, method: str, purpose: str) -> None:
        """One clear line for anything but sampling."""
        if not self.supports(method):
            raise GenlabError(f"a guided model can only draw samples, not {purpose}")

    def sample(self, n: int, generator: torch.Generator | None = None, labels: Tensor | None = None, **options: Any):
        """n images in [0, 1] of class ``label`` (``labels`` only repeat it)."""
        images = self.draw(n, generator, options)
        self.last_evaluations = getattr(self.model, "last_evaluations", 0)
        return images


def classifier_guidance(model: Any, guide: nn.Module, label: int, scale: float = 1.0) -> GuidedSampler:
    """A diffusion model whose every solver step follows grad log p(label | x0-hat) of ``guide`` with weight
    ``scale`` (Dhariwal & Nichol 2021, Alg. 1); conditional models also see the label. The guide is set on the
    model only while it draws."""
    model.require("guide_with", "be steered by a classifier during sampling (it is not a diffusion model)")
    model.guide_with(guide, scale)  # checks the scale now
    model.guide_with(None)

    def draw(n: int, generator: torch.Generator | None, options: dict[str, Any]) -> Tensor:
        labels = torch.full((n,), label, dtype=torch.long, device=model.device)
        model.guide_with(guide, scale)
        try:
            return model.sample(n, generator=generator, labels=labels, **options)
        finally:
            model.guide_with(None)

    return GuidedSampler(model, guide, label, draw, f"guided by {getattr(guide, 'name', 'a classifier')}")


def plug_and_play_sampler(
    model: Any,
    guide: nn.Module,
    label: int,
    steps: int = 200,
    eps: tuple[float, float, float] = PNP_EPS,
    prior: Any = None,
    max_step: float | None = PNP_MAX_STEP,
) -> GuidedSampler:
    """Plug & Play chains (Nguyen et al. 2017, Eq. 5) of ``steps`` steps as a sampler: each batch's chains start
    from a seed drawn from the sampling generator, so the same seed gives the same files."""

    def draw(n: int, generator: torch.Generator | None, options: dict[str, Any]) -> Tensor:
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        result = plug_and_play(model, guide, label, n, steps, *eps, seed, prior=prior, max_step=max_step, **options)
        return result.images

    return GuidedSampler(model, guide, label, draw, f"plug & play, guide {getattr(guide, 'name', 'a classifier')}")

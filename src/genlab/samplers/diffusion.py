"""Sampling options of diffusion models, chosen at sampling time: which solver (genlab.ops.diffusion), how many
noise levels, DDIM's eta, the classifier-free guidance weight; and the count of network evaluations it cost."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..errors import GenlabError
from ..models.capabilities import DiffusionSampler, Model
from ..ops.diffusion import SOLVERS


def sampler_names() -> list[str]:
    """The registered solvers, as ``--sampler`` takes them."""
    return SOLVERS.names()


def choose_sampling(
    model: Model,
    sampler: str | None = None,
    steps: int | None = None,
    eta: float | None = None,
    guidance: float | None = None,
) -> Any:
    """Make the given options (None: the run's default) a diffusion model's sampling for the draws that follow,
    checked in one clear line; for a model that draws in one pass, any option given is that line. Returns the
    sampling now in force, or None for such a model."""
    if model.supports("denoise"):
        return model.use_sampling(sampler=sampler, steps=steps, eta=eta, guidance=guidance)
    options = (("sampler", sampler), ("steps", steps), ("eta", eta), ("guidance", guidance))
    given = [f"--{name}" for name, value in options if value is not None]
    if given:
        raise GenlabError(f"{', '.join(given)}: for diffusion models; model {model.name!r} draws in one pass")
    return None


def evaluations_line(model: DiffusionSampler, sampling: Any) -> str:
    """What the last draw cost: the sampler, its steps and the network evaluations per sample."""
    doubled = " (each on a doubled batch: with and without the label)" if sampling.guidance else ""
    return (
        f"sampler {sampling.sampler}, {sampling.steps} steps: "
        f"{model.last_evaluations} network evaluations per sample{doubled}"
    )


class SDEditTranslator:
    """SDEdit (Meng et al. 2022) as a one-way translator: a diffusion model of the target domain noises each input
    to the level ``strength`` of the way up its sampler's noise levels and denoises it (``model.edit``); the noise
    comes from the global RNG, which ``seeded_styles`` fixes per batch, so a seed gives the same translations."""

    directions = ("a2b",)

    def __init__(self, model: Model, strength: float):
        model.require("edit", "translate by SDEdit (it is not a diffusion model)")
        if not 0 < strength <= 1:
            raise GenlabError(f"--strength must be in (0, 1], got {strength}")
        self.model, self.strength = model, strength
        self.name, self.config, self.device = f"sdedit ({model.name})", model.config, model.device

    def supports(self, method: str) -> bool:
        """It translates (one way), nothing else."""
        return method in ("translate", "round_trip")

    def require(self, method: str, purpose: str) -> None:
        """One clear line for anything but translating."""
        if not self.supports(method):
            raise GenlabError(f"an SDEdit translator cannot {purpose}")

    def translate(self, images: Tensor, direction: str = "a2b", style: Tensor | None = None) -> Tensor:
        """The inputs in [0, 1] edited into the model's domain."""
        return self.model.edit(images, self.strength)

    def round_trip(self, images: Tensor, direction: str = "a2b") -> Tensor:
        """[N, 2, C, H, W]: inputs and their edits (there is no way back)."""
        images = images.to(self.device)
        return torch.stack([images, self.translate(images)], 1)

"""Sampling options of diffusion models, chosen at sampling time: which solver (genlab.ops.diffusion), how many
noise levels, DDIM's eta, the classifier-free guidance weight; and the count of network evaluations it cost."""

from __future__ import annotations

from typing import Any

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

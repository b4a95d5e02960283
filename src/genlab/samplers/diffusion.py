"""Sampling options of diffusion models, chosen at sampling time: which solver (genlab.ops.diffusion), how many
noise levels, DDIM's eta, the classifier-free guidance weight; the count of network evaluations it cost; and the
denoising trajectory of a draw (what the denoiser saw and estimated along the solver's path)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..errors import GenlabError
from ..models.capabilities import DiffusionSampler, Model
from ..ops.diffusion import SOLVERS, Denoiser
from .latent import sample_labels, seeded


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


def evaluations_line(model: DiffusionSampler, sampling: Any, evaluations: int | None = None) -> str:
    """What the last draw (or one of ``evaluations`` network evaluations) cost: the sampler, its steps and the
    network evaluations per sample."""
    doubled = " (each on a doubled batch: with and without the label)" if sampling.guidance else ""
    spent = model.last_evaluations if evaluations is None else evaluations
    return f"sampler {sampling.sampler}, {sampling.steps} steps: {spent} network evaluations per sample{doubled}"


def sample_with(model: Model, n: int, seed: int = 0, label: int | None = None, **choices: Any) -> Tensor:
    """``sample_images`` of a diffusion model with this draw's sampling options (None: the run's default), its
    defaults left as they are: the same seed, the same noise; ``model.last_evaluations`` says what it cost."""
    model.require("denoise", "take sampling options (it is not a diffusion model)")
    labels = sample_labels(model, label, 0, n)
    return model.sample(n, generator=seeded(seed), labels=labels, **choices).float().cpu()


@dataclass(frozen=True)
class Trajectory:
    """Frames along one draw of a diffusion sampler, from pure noise to the samples: per sample and frame the
    denoised estimate D(x; sigma) and the noisy x the denoiser saw (shown as x / sqrt(1 + sigma^2), the
    variance-preserving scale), both in [0, 1]; the last frame is the samples themselves (sigma = 0)."""

    denoised: Tensor  # [n, frames, C, H, W]
    noisy: Tensor  # [n, frames, C, H, W]
    sigmas: list[float]  # the noise level of each frame
    evaluations: int  # network evaluations of the whole draw


class RecordingDenoiser:
    """A denoiser that keeps (x, sigma, D(x; sigma)) of every call, on the CPU; what it returns is unchanged."""

    def __init__(self, denoise: Denoiser):
        self.denoise, self.records = denoise, []

    def __call__(self, x: Tensor, sigma: Tensor) -> Tensor:
        denoised = self.denoise(x, sigma)
        self.records.append((x.float().cpu(), float(sigma[0]), denoised.float().cpu()))
        return denoised

    def steps(self) -> list[tuple[Tensor, float, Tensor]]:
        """One record a noise level: of consecutive calls at one sigma (Heun's correction at the next level, then
        that level's step), the last, which saw the solver's state there."""
        records = self.records
        return [r for i, r in enumerate(records) if i + 1 == len(records) or records[i + 1][1] != r[1]]


def frame_positions(count: int, frames: int) -> list[int]:
    """At most ``frames`` distinct, evenly spaced positions in 0..count-1, both ends included."""
    frames, last = min(frames, count), count - 1
    if frames < 2:
        return [last]
    return [(2 * k * last + frames - 1) // (2 * (frames - 1)) for k in range(frames)]


@torch.no_grad()
def denoising_trajectory(
    model: Any, n: int, seed: int = 0, frames: int = 8, label: int | None = None, **choices: Any
) -> Trajectory:
    """The draw ``sample_with(model, n, seed, label, **choices)`` makes, recorded: ``frames`` frames (fewer when
    the sampler has fewer noise levels) at evenly spaced solver steps, from the first, at pure noise, to the
    samples, which are the last frame and equal that draw's images."""
    model.require("denoise", "draw a denoising trajectory (it is not a diffusion model)")
    if n < 1 or frames < 2:
        raise GenlabError(f"a trajectory needs at least 1 sample and 2 frames, got {n} and {frames}")
    recorders: list[RecordingDenoiser] = []

    def record(denoise: Denoiser) -> Denoiser:
        recorders.append(RecordingDenoiser(denoise))
        return recorders[-1]

    labels = sample_labels(model, label, 0, n)
    samples = model.sample(n, generator=seeded(seed), labels=labels, observe=record, **choices).float().cpu()
    evaluations, records = model.last_evaluations, recorders[0].steps()
    chosen = [records[i] for i in frame_positions(len(records) + 1, frames)[:-1]]  # the last: the samples
    noisy = [((x / math.sqrt(1 + sigma**2) + 1) / 2).clamp(0, 1) for x, sigma, _ in chosen]
    denoised = [((d + 1) / 2).clamp(0, 1) for _, _, d in chosen]
    return Trajectory(
        torch.stack([*denoised, samples], 1),
        torch.stack([*noisy, samples], 1),
        [sigma for _, sigma, _ in chosen] + [0.0],
        evaluations,
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

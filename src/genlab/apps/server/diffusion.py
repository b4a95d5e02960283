"""The studio's diffusion views: samples drawn with a request's sampler, step count and guidance weight, and the
denoising trajectory of a seed. Each answers PNG bytes and the headers the page captions them with; they run on
the inference thread, as draw.py's pictures do."""

from __future__ import annotations

from typing import Any

import torch

from ...errors import GenlabError
from ...samplers import denoising_trajectory, evaluations_line, sample_with
from .draw import png_bytes
from .limits import Unprocessable
from .studio import ServedRun

SAMPLING_HEADER = "Genlab-Sampling"  # "sampler heun, 18 steps: 35 network evaluations per sample"
LEVELS_HEADER = "Genlab-Noise-Levels"  # a trajectory's noise level per frame, comma-separated (0: the samples)


def sampling_choices(run: ServedRun, sampler: str | None, steps: int | None, guidance: float | None) -> dict[str, Any]:
    """A request's sampling options (None: the run's default), checked before it waits for the model: a 422
    line for options given to a run that draws in one pass, guidance on a run trained without labels, or
    options the model refuses (a discrete schedule's most steps)."""
    given = {"sampler": sampler, "steps": steps, "guidance": guidance}
    named = [name for name, value in given.items() if value is not None]
    if run.sampling is None:
        if named:
            raise Unprocessable(
                f"{', '.join(named)}: for diffusion runs; run {run.name!r} ({run.config.model_name}) draws in one "
                "pass, leave them out"
            )
        return {}
    if guidance is not None and not run.num_classes:
        raise Unprocessable(
            f"guidance needs a class-conditional run; run {run.name!r} was trained without labels "
            "(model.conditional=true trains with them), leave out guidance"
        )
    choices = {name: value for name, value in given.items() if value is not None}
    try:
        run.model.sampling_of(choices)
    except GenlabError as error:
        raise Unprocessable(str(error).replace("--", "")) from None
    return choices


def samples_png(run: ServedRun, n: int, seed: int, label: int | None, choices: dict[str, Any]) -> tuple[bytes, dict]:
    """n samples of the seed drawn with ``choices``, and the line saying what they cost."""
    run.require("sample")
    run.check_label(label)
    images = sample_with(run.model, n, seed, label, **choices)
    line = evaluations_line(run.model, run.model.sampling_of(choices))
    return png_bytes(images), {SAMPLING_HEADER: line}


def trajectory_png(
    run: ServedRun, rows: int, seed: int, label: int | None, frames: int, view: str, choices: dict[str, Any]
) -> tuple[bytes, dict]:
    """The denoising trajectory of ``rows`` samples of the seed: one row of frames a sample (``view`` "both":
    the noisy x above the denoised estimate), pure noise on the left, the samples on the right; the headers give
    each frame's noise level and what the draw cost."""
    run.require("trajectory")
    run.check_label(label)
    path = denoising_trajectory(run.model, rows, seed, frames, label, **choices)
    images = {"denoised": path.denoised, "noisy": path.noisy}.get(view)
    if images is None:  # both: per sample, the noisy row then the denoised one
        images = torch.stack([path.noisy, path.denoised], 1).flatten(0, 1)
    line = evaluations_line(run.model, run.model.sampling_of(choices), path.evaluations)
    levels = ",".join(f"{sigma:.3g}" for sigma in path.sigmas)
    return png_bytes(images.flatten(0, 1), nrow=len(path.sigmas)), {SAMPLING_HEADER: line, LEVELS_HEADER: levels}

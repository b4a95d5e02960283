"""The studio's pictures: each function takes a served run and request values, runs one batched forward and
returns PNG bytes (or a code). They run on the inference thread, in inference mode."""

from __future__ import annotations

import io
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import Tensor

from ...data import point_centers
from ...errors import GenlabError
from ...ops import lerp, slerp
from ...samplers import decode_in_class, manifold_grid, path_labels, prior_codes, round_trip, sample_images, seeded
from ...viz import grid_array, save_scatter
from .limits import Z_LIMIT
from .studio import ServedRun
from .uploads import decode_upload

ACTIONS = {
    "reconstruct": ("reconstruct", None),
    "a2b": ("translate", "a2b"),
    "b2a": ("translate", "b2a"),
    "refine": ("refine", "a2b"),
}  # upload action -> (capability, direction)


def png_bytes(images: Tensor, nrow: int | None = None, pad: int = 2) -> bytes:
    """[N, C, H, W] in [0, 1] -> one PNG grid (fast to encode: zlib level 1)."""
    arr = grid_array(images, nrow, pad)
    buffer = io.BytesIO()
    Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def scatter_png(points: Tensor, data_name: str) -> bytes:
    """2-D points as genlab sample's scatter plot, with the data's mode centers."""
    with tempfile.TemporaryDirectory(prefix="genlab-studio-") as folder:
        return save_scatter(points, Path(folder) / "scatter.png", point_centers(data_name)).read_bytes()


def samples_png(run: ServedRun, n: int, seed: int, label: int | None, temperature: float | None = None) -> bytes:
    """n samples of the seed in one grid (toy 2-D runs: their scatter plot), at ``temperature`` when given."""
    run.require("sample")
    run.check_label(label)
    with at_temperature(run.model, temperature):
        images = sample_images(run.model, n, seed, label)
    return scatter_png(images, run.config.data.name) if run.points else png_bytes(images)


@contextmanager
def at_temperature(model: Any, temperature: float | None) -> Iterator[None]:
    """The model samples at ``temperature`` inside the block and as before after it (None: unchanged)."""
    if temperature is None:
        yield
        return
    before = model.temperature
    model.set_temperature(temperature)
    try:
        yield
    finally:
        model.set_temperature(before)


def prior_code(run: ServedRun, seed: int) -> list[float]:
    """The prior code the seed draws."""
    run.require("interpolate")
    return prior_codes(run.model, [seed])[0].float().cpu().tolist()


def parse_code(text: str, latent_dim: int) -> Tensor:
    """'0.5,-1.25,...' -> a [latent_dim] tensor; one clear line for anything else."""
    parts = text.split(",")
    if len(parts) != latent_dim:
        raise GenlabError(f"z needs {latent_dim} comma-separated numbers, got {len(parts)}")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        raise GenlabError("z must be comma-separated numbers, like 0.5,-1.25") from None
    if not all(math.isfinite(v) and abs(v) <= Z_LIMIT for v in values):
        raise GenlabError(f"every value of z must be a finite number in [-{Z_LIMIT:g}, {Z_LIMIT:g}]")
    return torch.tensor(values)


def decode_png(run: ServedRun, z: str, label: int | None) -> bytes:
    """The one image a latent code decodes to."""
    run.require("interpolate")
    run.check_label(label)
    code = parse_code(z, run.latent_dim or 0)
    return png_bytes(decode_in_class(run.model, code[None].to(run.model.device), label), pad=0)


def interpolate_png(run: ServedRun, a: int, b: int, t: float, method: str, label: int | None) -> bytes:
    """The one image at t along the lerp or slerp path between the codes of seeds a and b."""
    run.require("interpolate")
    run.check_label(label)
    start, end = prior_codes(run.model, [a, b])
    code = (lerp if method == "lerp" else slerp)(start, end, torch.tensor([t], device=start.device))
    return png_bytes(decode_in_class(run.model, code, label), pad=0)


def manifold_png(run: ServedRun, steps: int, label: int | None) -> bytes:
    """The steps x steps grid of a 2-D latent space (Kingma & Welling Fig. 4)."""
    run.require("manifold")
    run.check_label(label)
    return png_bytes(manifold_grid(run.model, steps, label), nrow=steps, pad=0)


def check_action(run: ServedRun, action: str) -> None:
    """A clear 400 line unless the run can do ``action`` to an upload."""
    capability, direction = ACTIONS[action]
    run.require(capability)
    if direction is not None and direction not in run.directions:
        raise GenlabError(f"run {run.name!r} translates {' and '.join(run.directions)} only, not {direction}")


def upload_png(run: ServedRun, data: bytes, action: str) -> bytes:
    """One row: the upload at the model's size, then its reconstruction, or its translation (and the way back)."""
    check_action(run, action)
    config = run.config.model
    images = decode_upload(data, config.image_size, config.channels)
    if action == "reconstruct":
        return png_bytes(reconstruction_row(run, images))
    row = round_trip(run.model, images, ACTIONS[action][1])[0]
    return png_bytes(row, nrow=len(row))


def reconstruction_row(run: ServedRun, images: Tensor) -> Tensor:
    """The images then their reconstructions (decoded in class 0 for a conditional model)."""
    model = run.model
    prepared = model.prepare(images, seeded(0)).to(model.device)  # fixed dequantization noise: same upload, same row
    recon = model.reconstruct(prepared, path_labels(model, None, len(images)))
    return torch.cat([images, recon.float().cpu().clamp(0, 1)])

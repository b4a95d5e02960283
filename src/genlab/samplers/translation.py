"""Pure functions that translate with a trained image-to-image model: the round trip and batches of images, with
reproducible style draws."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor

from ..data import to_float, to_uint8
from ..models.capabilities import Model, Translator
from ..models.translator import check_direction
from ..progress import batch_count, tracked


@torch.no_grad()
def round_trip(model: Translator, images: Tensor, direction: str = "a2b") -> Tensor:
    """[N, 3, C, H, W] in [0, 1]: inputs, their translations, and those translated back (Zhu et al. Fig. 4);
    [N, 2, C, H, W] for a model that translates one way only (a refiner)."""
    check_direction(model, direction)
    return model.round_trip(images, direction)


@contextlib.contextmanager
def seeded_styles(model: Model, seed: int) -> Iterator[None]:
    """Inside, the global RNG (on the model's device) starts from ``seed``, so a translator with style codes
    draws the same styles each time; the caller's RNG state is restored after."""
    with torch.random.fork_rng(devices=[model.device] if model.device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


@torch.no_grad()
def translate_images(
    model: Translator, images: torch.Tensor, direction: str = "a2b", batch_size: int = 256, seed: int = 0
) -> torch.Tensor:
    """Images (uint8 or [0, 1], at the model's size and channels) -> translations as uint8 on the CPU, as
    8-bit image files would hold them; batch by batch, so 60k images never sit on the device at once. A
    translator with style codes draws them from ``seed``: the same call gives the same images."""
    check_direction(model, direction)
    with seeded_styles(model, seed):
        out = [
            to_uint8(model.translate(to_float(images[start : start + batch_size]).to(model.device), direction)).cpu()
            for start in tracked(
                range(0, len(images), batch_size), batch_count(len(images), batch_size), f"translate {direction}"
            )
        ]
    return torch.cat(out) if out else torch.empty(0, *images.shape[1:], dtype=torch.uint8)

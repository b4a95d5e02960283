"""Sliced Wasserstein distance between the Laplacian-pyramid patches of two image sets (Karras et al. 2018,
Progressive Growing of GANs, Sec. 5 and Appendix D): a multi-scale statistic of pixels that needs no
pretrained network.

Each image becomes a Laplacian pyramid (Burt & Adelson 1983: 5-tap binomial filter, each level the difference
between a Gaussian level and the next one upsampled, the last level the low-pass residual); from every level
``patches`` 7x7 neighbourhoods are drawn per image at seeded random positions. Per level, the descriptors of both
sets are normalised per channel by the mean and standard deviation of the *reference* set's descriptors (Karras
et al. normalise each set by its own, which hides a change of contrast or brightness), then compared by the mean
over ``projections`` random unit directions of the 1-D Wasserstein-1 distance between the projected sets (sorted
projections matched in order). Levels run from the full size down to the smallest side of at least two patch
widths (16 px at a power of two, where Karras et al. stop). Reported per level and averaged over levels; their
tables show the values x 1000.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..data import to_float
from ..errors import GenlabError

PATCH = 7  # side of a neighbourhood (Karras et al.)
PATCHES_PER_IMAGE = 8  # neighbourhoods drawn per image and level (Karras et al.: 128 of 16,384 images) ...
MIN_DESCRIPTORS = 2**16  # ... or more for small sets, so that a level has at least this many
PROJECTIONS = 512  # random directions (Karras et al.: 4 repeats of 128)
MIN_SIZE = 16  # the smallest image side scored
SORT_BLOCK = 2**23  # projected values sorted at once (directions x descriptors), about 32 MB of float32
BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16  # Burt & Adelson's 5-tap generating kernel


def patches_per_image(images: int) -> int:
    """Neighbourhoods to draw per image and level from a set of ``images``: ``PATCHES_PER_IMAGE``, or as many as
    give ``MIN_DESCRIPTORS`` per level (the sorts' cost grows with the count, the estimate's noise shrinks with it)."""
    return max(PATCHES_PER_IMAGE, -(-MIN_DESCRIPTORS // max(images, 1)))


def pyramid_sizes(size: int) -> list[int]:
    """Sides of the pyramid's levels for images of side ``size``: halved (rounding up) while the next level is at
    least two patch widths (14 px), so 2^k px images stop at 16 px like Karras et al.'s, 28 px ones at 14."""
    if size < MIN_SIZE:
        raise GenlabError(f"swd needs images of at least {MIN_SIZE} px, got {size} px")
    sizes = [size]
    while (sizes[-1] + 1) // 2 >= 2 * PATCH:
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


def _blur(x: Tensor, gain: float = 1.0) -> Tensor:
    """Separable 5x5 binomial filter of every channel, reflect-padded, times ``gain``."""
    n, c, h, w = x.shape
    k = (BINOMIAL * gain**0.5).to(x)
    y = F.pad(x.reshape(n * c, 1, h, w), (2, 2, 2, 2), mode="reflect")
    y = F.conv2d(F.conv2d(y, k.view(1, 1, 5, 1)), k.view(1, 1, 1, 5))
    return y.reshape(n, c, h, w)


def pyramid_down(x: Tensor) -> Tensor:
    """The next Gaussian level (Burt & Adelson 1983, REDUCE): blur, keep every other pixel."""
    return _blur(x)[..., ::2, ::2]


def pyramid_up(x: Tensor, size: tuple[int, int]) -> Tensor:
    """A level upsampled to ``size`` (Burt & Adelson 1983, EXPAND): zeros between pixels, blur times 4, crop."""
    n, c, h, w = x.shape
    up = x.new_zeros(n, c, 2 * h, 2 * w)
    up[..., ::2, ::2] = x
    return _blur(up, gain=4.0)[..., : size[0], : size[1]]


def laplacian_pyramid(images: Tensor, levels: int) -> list[Tensor]:
    """``levels`` Laplacian levels of images [N, C, H, W], finest first: G_i - EXPAND(G_i+1), then the residual
    G_L (Burt & Adelson 1983)."""
    gaussian = [images.float()]
    for _ in range(levels - 1):
        gaussian.append(pyramid_down(gaussian[-1]))
    details = [g - pyramid_up(coarse, g.shape[-2:]) for g, coarse in zip(gaussian, gaussian[1:])]
    return details + [gaussian[-1]]


def random_patches(level: Tensor, per_image: int, generator: torch.Generator) -> Tensor:
    """``per_image`` 7x7 neighbourhoods of every image at uniform random positions: [N * per_image, 49, C]."""
    n, c, h, w = level.shape
    top = torch.randint(h - PATCH + 1, (n, per_image, 1, 1), generator=generator)
    left = torch.randint(w - PATCH + 1, (n, per_image, 1, 1), generator=generator)
    steps = torch.arange(PATCH)
    rows, cols = top + steps.view(1, 1, PATCH, 1), left + steps.view(1, 1, 1, PATCH)
    image = torch.arange(n).view(n, 1, 1, 1)
    patches = level.permute(0, 2, 3, 1)[image, rows, cols]  # [N, per_image, 7, 7, C]
    return patches.reshape(n * per_image, PATCH * PATCH, c)


def pyramid_descriptors(
    batches: Iterable[Tensor], per_image: int = PATCHES_PER_IMAGE, seed: int = 0
) -> tuple[list[Tensor], tuple[int, ...]]:
    """The neighbourhoods of every level of all images in ``batches`` (each [B, C, H, W] in [0, 1]), drawn with
    one generator seeded once: ([descriptors [M, 49, C] per level, finest first], the image shape C, H, W)."""
    generator = torch.Generator().manual_seed(seed)
    levels: list[list[Tensor]] = []
    shape: tuple[int, ...] = ()
    for batch in batches:
        if not shape:
            shape = tuple(batch.shape[1:])
            levels = [[] for _ in pyramid_sizes(min(shape[1:]))]
        if tuple(batch.shape[1:]) != shape:
            raise GenlabError(f"swd: images of one set must share a shape, got {list(shape)} and {list(batch.shape)}")
        pyramid = laplacian_pyramid(to_float(batch.cpu()), len(levels))
        for found, level in zip(levels, pyramid):
            found.append(random_patches(level, per_image, generator))
    if not shape:
        raise GenlabError("swd: an image set is empty")
    return [torch.cat(found) for found in levels], shape


def wasserstein_1d(a: Tensor, b: Tensor) -> Tensor:
    """Wasserstein-1 distance between two equal-size 1-D samples, per column of a, b [M, K]: the mean absolute
    difference of their sorted values (in 1-D the monotone coupling is optimal)."""
    if a.shape != b.shape:
        raise GenlabError(f"wasserstein_1d needs samples of equal size, got {list(a.shape)} and {list(b.shape)}")
    return (_sorted_columns(a) - _sorted_columns(b)).abs().mean(dim=1)


def _sorted_columns(x: Tensor) -> Tensor:
    """Each column of x [M, K] sorted, as rows [K, M] (NumPy's vectorised sort is several times torch's on CPU)."""
    return torch.from_numpy(np.sort(x.detach().cpu().T.contiguous().numpy(), axis=1))


def sliced_wasserstein(a: Tensor, b: Tensor, projections: int = PROJECTIONS, seed: int = 0) -> float:
    """Mean over ``projections`` random unit directions of the 1-D Wasserstein-1 distance between the projections
    of descriptors a, b [M, D] (Rabin et al. 2011; Karras et al. 2018, Appendix D), in blocks of directions."""
    generator = torch.Generator().manual_seed(seed)
    directions = torch.randn(a.shape[1], projections, generator=generator, dtype=a.dtype)
    directions /= directions.norm(dim=0, keepdim=True)
    step = max(1, SORT_BLOCK // len(a))
    total = sum(
        wasserstein_1d(a @ directions[:, s : s + step], b @ directions[:, s : s + step]).sum().item()
        for s in range(0, projections, step)
    )
    return total / projections


def equal_counts(a: Tensor, b: Tensor, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Both descriptor sets cut to the smaller count (a seeded random subset of the larger one)."""
    n = min(len(a), len(b))
    generator = torch.Generator().manual_seed(seed)
    pick = [x if len(x) == n else x[torch.randperm(len(x), generator=generator)[:n]] for x in (a, b)]
    return pick[0], pick[1]


def normalised(descriptors: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """Descriptors [M, 49, C] standardised per channel with the reference's statistics, flattened to [M, 49 C]."""
    return ((descriptors - mean) / std).flatten(1)


def swd_of_descriptors(
    real: list[Tensor], fake: list[Tensor], sizes: list[int], projections: int = PROJECTIONS, seed: int = 0
) -> dict[str, Any]:
    """SWD per pyramid level (keyed by its side in px) and averaged over levels, each level normalised by the
    statistics of ``real``'s descriptors."""
    per_level = {}
    for size, r, f in zip(sizes, real, fake):
        mean = r.mean(dim=(0, 1))
        std = r.std(dim=(0, 1)).clamp_min(1e-8)  # a constant level (a blank set) has no spread to divide by
        a, b = equal_counts(normalised(r, mean, std), normalised(f, mean, std), seed)
        per_level[str(size)] = sliced_wasserstein(a, b, projections, seed)
    return {"swd": sum(per_level.values()) / len(per_level), "swd_levels": per_level, "descriptors": len(a)}


def swd(
    real: Iterable[Tensor] | Tensor,
    fake: Iterable[Tensor] | Tensor,
    *,
    per_image: int | tuple[int, int] = PATCHES_PER_IMAGE,
    projections: int = PROJECTIONS,
    seed: int = 0,
) -> dict[str, Any]:
    """SWD between two image sets, each given as batches [B, C, H, W] in [0, 1] (or one tensor), drawing
    ``per_image`` neighbourhoods per image and level (one count, or one per set): per level, the average over
    levels, and what was computed (levels, projections, descriptors per level, images of each set)."""
    real_per, fake_per = per_image if isinstance(per_image, tuple) else (per_image, per_image)
    real_desc, real_shape = pyramid_descriptors(_as_batches(real), real_per, seed)
    fake_desc, fake_shape = pyramid_descriptors(_as_batches(fake), fake_per, seed + 1)
    if real_shape != fake_shape:
        raise GenlabError(
            f"swd compares images of one shape: the reference is {_shape(real_shape)}, the samples {_shape(fake_shape)}"
        )
    sizes = pyramid_sizes(min(real_shape[1:]))
    result = swd_of_descriptors(real_desc, fake_desc, sizes, projections, seed)
    counts = {"real_images": len(real_desc[0]) // real_per, "generated_images": len(fake_desc[0]) // fake_per}
    return {**result, "levels": sizes, "projections": projections, "patches_per_image": [real_per, fake_per], **counts}


def _as_batches(images: Iterable[Tensor] | Tensor, batch_size: int = 500) -> Iterable[Tensor]:
    if isinstance(images, Tensor):
        return (images[s : s + batch_size] for s in range(0, len(images), batch_size))
    return images


def _shape(shape: tuple[int, ...]) -> str:
    c, h, w = shape
    return f"{h}x{w} {'gray' if c == 1 else f'{c}-channel'}"

"""Batched image augmentations for robust feature networks: every op works on a whole batch [B, C, H, W] of
images in [0, 1] with per-image random parameters drawn from one ``torch.Generator`` (torch ops only, no
per-image Python), so a seeded run reproduces -- and resumes -- exactly.

The ops mimic what generators get wrong: noise, blur, contrast/brightness, stroke width, small affine moves,
inverted polarity (the robust recipe of the ``digits-v2`` extractor).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


def uniform(n: int, low: float, high: float, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """``n`` draws from U(low, high) as a float32 vector."""
    return low + (high - low) * torch.rand(n, generator=generator, device=device)


def chosen(n: int, p: float, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """A boolean [n, 1, 1, 1] mask: each image is chosen with probability ``p``."""
    return (torch.rand(n, generator=generator, device=device) < p).view(n, 1, 1, 1)


def gaussian_kernel1d(sigma: Tensor, radius: int) -> Tensor:
    """Normalised 1-D Gaussian kernels [B, 2*radius+1], one per sigma; sigma 0 gives the identity (a delta)."""
    t = torch.arange(-radius, radius + 1, device=sigma.device, dtype=torch.float32)
    s = sigma.float().clamp_min(1e-6)[:, None]
    k = torch.exp(-0.5 * (t / s) ** 2)
    return k / k.sum(1, keepdim=True)


def gaussian_blur(x: Tensor, sigma: Tensor | float, radius: int | None = None) -> Tensor:
    """Blur each image with its own isotropic Gaussian (std ``sigma`` px), separable, reflect-padded."""
    b, c, h, w = x.shape
    sigma = torch.as_tensor(sigma, dtype=torch.float32, device=x.device).expand(b)
    if radius is None:
        radius = max(1, min(math.ceil(3 * float(sigma.max())), min(h, w) - 1))
    k = gaussian_kernel1d(sigma, radius).to(x.dtype).repeat_interleave(c, 0)  # [B*C, K]
    y = F.pad(x.reshape(1, b * c, h, w), (radius,) * 4, mode="reflect")
    y = F.conv2d(y, k[:, None, :, None], groups=b * c)  # along rows
    y = F.conv2d(y, k[:, None, None, :], groups=b * c)  # along columns
    return y.reshape(b, c, h, w)


def add_noise(x: Tensor, std: Tensor | float, generator: torch.Generator | None = None) -> Tensor:
    """``x`` plus Gaussian noise of per-image std, clamped to [0, 1]."""
    std = torch.as_tensor(std, dtype=x.dtype, device=x.device).expand(x.shape[0]).view(-1, 1, 1, 1)
    return (x + std * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)).clamp(0, 1)


def dilate(x: Tensor, size: int = 3) -> Tensor:
    """Grey-scale dilation (max over a size x size window): bright strokes get thicker."""
    return F.max_pool2d(x, size, stride=1, padding=size // 2)


def erode(x: Tensor, size: int = 3) -> Tensor:
    """Grey-scale erosion (min over a size x size window): bright strokes get thinner."""
    return -F.max_pool2d(-x, size, stride=1, padding=size // 2)


def invert(x: Tensor) -> Tensor:
    """Inverted polarity of images in [0, 1]."""
    return 1 - x


def contrast(x: Tensor, scale: Tensor | float, offset: Tensor | float = 0.0) -> Tensor:
    """``x * scale + offset`` per image, clamped to [0, 1] (contrast and brightness)."""
    n = x.shape[0]
    scale = torch.as_tensor(scale, dtype=x.dtype, device=x.device).expand(n).view(-1, 1, 1, 1)
    offset = torch.as_tensor(offset, dtype=x.dtype, device=x.device).expand(n).view(-1, 1, 1, 1)
    return (x * scale + offset).clamp(0, 1)


def affine(x: Tensor, angle: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
    """Rotate (degrees), scale and shift (pixels, [B, 2] as x, y) each image about its centre; zero fill."""
    b, _, h, w = x.shape
    a = torch.deg2rad(angle.float())
    cos, sin = torch.cos(a) / scale, torch.sin(a) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, -2 * shift[:, 0] / w], 1), torch.stack([sin, cos, -2 * shift[:, 1] / h], 1)], 1
    )  # output -> input coordinates
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@dataclass(frozen=True)
class RobustRecipe:
    """Probabilities and ranges of the robust augmentation (each op applied to a random share of images)."""

    p_affine: float = 0.9
    max_angle: float = 12.0
    scale: tuple[float, float] = (0.9, 1.1)
    max_shift: float = 2.5
    p_stroke: float = 0.3  # two thirds of them dilated, one third eroded (thin MNIST strokes erode away)
    p_blur: float = 0.35
    blur: tuple[float, float] = (0.3, 2.8)
    p_contrast: float = 0.3
    contrast: tuple[float, float] = (0.45, 1.0)
    brightness: tuple[float, float] = (0.0, 0.25)
    p_invert: float = 0.1
    p_noise: float = 0.4
    noise: tuple[float, float] = (0.0, 0.33)


def _random_affine(x: Tensor, r: RobustRecipe, g: torch.Generator | None) -> Tensor:
    """Random rotation, scale and shift of a share ``r.p_affine`` of the images."""
    n, dev = x.shape[0], x.device
    moved = affine(
        x,
        uniform(n, -r.max_angle, r.max_angle, g, dev),
        uniform(n, *r.scale, g, dev),
        uniform(2 * n, -r.max_shift, r.max_shift, g, dev).view(n, 2),
    )
    return torch.where(chosen(n, r.p_affine, g, dev), moved, x)


def _random_stroke(x: Tensor, r: RobustRecipe, g: torch.Generator | None) -> Tensor:
    """Thicker strokes for some images, thinner for half as many others."""
    n, dev = x.shape[0], x.device
    u = torch.rand(n, generator=g, device=dev).view(n, 1, 1, 1)
    x = torch.where(u < r.p_stroke * 2 / 3, dilate(x), x)
    return torch.where((u >= r.p_stroke * 2 / 3) & (u < r.p_stroke), erode(x), x)


def _random_photometric(x: Tensor, r: RobustRecipe, g: torch.Generator | None) -> Tensor:
    """Random blur, contrast/brightness, inversion and noise, each for its own share of the images."""
    n, dev = x.shape[0], x.device
    sigma = uniform(n, *r.blur, g, dev) * chosen(n, r.p_blur, g, dev).view(n).float()
    x = torch.where(sigma.view(n, 1, 1, 1) > 0, gaussian_blur(x, sigma), x)
    scaled = contrast(x, uniform(n, *r.contrast, g, dev), uniform(n, *r.brightness, g, dev))
    x = torch.where(chosen(n, r.p_contrast, g, dev), scaled, x)
    x = torch.where(chosen(n, r.p_invert, g, dev), invert(x), x)
    std = uniform(n, *r.noise, g, dev) * chosen(n, r.p_noise, g, dev).view(n).float()
    return add_noise(x, std, g)


def robust_augment(
    x: Tensor, generator: torch.Generator | None = None, recipe: RobustRecipe = RobustRecipe()
) -> Tensor:
    """Affine moves, stroke width, blur, contrast, inversion and noise with per-image random parameters."""
    x = _random_affine(x, recipe, generator)
    x = _random_stroke(x, recipe, generator)
    return _random_photometric(x, recipe, generator)


def mild_noise(x: Tensor, generator: torch.Generator | None = None, p: float = 0.5, max_std: float = 0.1) -> Tensor:
    """Gaussian noise of std uniform in [0, max_std] on a share ``p`` of clean images (the ``digits-plain`` recipe)."""
    n, dev = x.shape[0], x.device
    std = uniform(n, 0.0, max_std, generator, dev) * chosen(n, p, generator, dev).view(n).float()
    return add_noise(x, std, generator)

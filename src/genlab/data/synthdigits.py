"""Synthetic digits: 0-9 rendered from fonts, then a random affine, stroke, blur and noise; MNIST-like.

Each (font, digit, stroke width) glyph is rendered once with Pillow on a 64-px canvas, the digit's height
matching MNIST's 20-px box at that scale. Every sample then draws a glyph and a random rotation (+-15 deg),
scale, shear and shift, applied in batches with ``affine_grid``/``grid_sample``, is downsampled to 28x28
with antialiasing, blurred by a random Gaussian, scaled to peak at white and gets random Gaussian noise:
white digits on black, uint8 [N, 1, 28, 28]. Fonts: Pillow's built-in scalable font (Pillow >= 10.1) plus
any TrueType faces in Debian's ``fonts-dejavu-core`` folder; the font list is part of the cache key.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import PIL
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from ..errors import GenlabError
from ..files import sha256_file
from .generated import cached_arrays, derived_seed
from .images import ImageData
from .mnist import DIGIT_SPLITS, check_split, select_split
from .spec import DatasetSpec, register_dataset, resized_loader

VERSION = 1  # bump when the rendering changes: old caches are then ignored
SEED = 0
SPLIT_SIZES = {"train": 60000, "test": 10000}
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
CANVAS = 64
DIGIT_HEIGHT = 44  # MNIST digits fit a 20-px box in 28 px: 20 * 64 / 28 = 45.7, a little less for the strokes
STROKES = (0, 1, 2, 3)  # Pillow stroke widths on the 64-px canvas (4 fills the loops of bold faces)
SIZE = 28
MAX_ROTATION = 15.0  # degrees
SCALE = (0.8, 1.05)
MAX_SHEAR = 0.15
MAX_SHIFT = 0.08  # of the half-width: about +-1 px at 28 px
MAX_BLUR = 0.8  # Gaussian sigma in 28-px pixels
MAX_NOISE = 0.06  # Gaussian noise std in [0, 1] units


def font_files() -> list[Path]:
    """The readable TrueType faces in FONT_DIRS, sorted (none is fine: Pillow's own font is always there)."""
    return sorted(p for d in FONT_DIRS if d.is_dir() for p in d.glob("*.ttf") if _readable_font(p))


def _readable_font(path: Path) -> bool:
    try:
        ImageFont.truetype(str(path), 12)
    except OSError:
        return False
    return True


def font_ids(files: list[Path]) -> list[str]:
    """Names and hashes of the fonts used, for the cache key."""
    return [f"pillow-default:{PIL.__version__}"] + [f"{f.name}:{sha256_file(f)[:16]}" for f in files]


def _pillow_font(size: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.load_default(size=size)
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise GenlabError("synthdigits needs Pillow >= 10.1 built with FreeType (ImageFont.load_default(size=))")
    return font


def _font_at_digit_height(make) -> ImageFont.FreeTypeFont:
    """The font sized so that its tallest digit is DIGIT_HEIGHT px tall."""
    probe = make(100)
    tallest = max(probe.getbbox(str(d))[3] - probe.getbbox(str(d))[1] for d in range(10))
    return make(max(8, round(100 * DIGIT_HEIGHT / tallest)))


def render_glyphs(files: list[Path]) -> Tensor:
    """Glyphs [fonts, 10, strokes, CANVAS, CANVAS] float in [0, 1], each digit centred by its bounding box."""
    return _render_glyphs(tuple(files), STROKES).clone()


@lru_cache(maxsize=2)
def _render_glyphs(files: tuple[Path, ...], strokes: tuple[int, ...]) -> Tensor:
    makers = [_pillow_font] + [lambda size, f=f: ImageFont.truetype(str(f), size) for f in files]
    glyphs = torch.zeros(len(makers), 10, len(strokes), CANVAS, CANVAS)
    for i, make in enumerate(makers):
        font = _font_at_digit_height(make)
        for d in range(10):
            for j, stroke in enumerate(strokes):
                image = Image.new("L", (CANVAS, CANVAS), 0)
                draw = ImageDraw.Draw(image)
                left, top, right, bottom = draw.textbbox((0, 0), str(d), font=font, stroke_width=stroke)
                xy = ((CANVAS - left - right) / 2, (CANVAS - top - bottom) / 2)
                draw.text(xy, str(d), fill=255, font=font, stroke_width=stroke, stroke_fill=255)
                glyphs[i, d, j] = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255)
    return glyphs


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def random_affines(n: int, generator: torch.Generator) -> Tensor:
    """Inverse maps [n, 2, 3] (output -> glyph coordinates) for affine_grid: rotation, scale, shear, shift."""
    angle = _uniform(n, -MAX_ROTATION, MAX_ROTATION, generator) * math.pi / 180
    scale = _uniform(n, *SCALE, generator)
    aspect = _uniform(n, 0.9, 1.1, generator)
    shear = _uniform(n, -MAX_SHEAR, MAX_SHEAR, generator)
    shift = _uniform(2 * n, -MAX_SHIFT, MAX_SHIFT, generator).view(n, 2)
    cos, sin = torch.cos(angle), torch.sin(angle)
    forward = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)  # rotation
    forward = forward @ torch.stack(
        [torch.stack([torch.ones(n), shear], -1), torch.stack([torch.zeros(n), torch.ones(n)], -1)], -2
    )
    forward = forward * torch.stack([scale * aspect, scale / aspect], -1)[:, None, :]
    inverse = torch.linalg.inv(forward)
    return torch.cat([inverse, -(inverse @ shift[:, :, None])], 2)


def gaussian_blur(x: Tensor, sigma: Tensor, radius: int = 2) -> Tensor:
    """Per-image Gaussian blur of x [N, 1, H, W] with std ``sigma`` [N] (0 leaves the image as it is)."""
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (offsets / sigma.clamp_min(1e-3)[:, None]) ** 2)
    kernel = (kernel / kernel.sum(1, keepdim=True))[:, :, None, None, None]  # [N, taps, 1, 1, 1]
    height, width = x.shape[-2:]
    # weighted sums of shifted copies: elementwise, so the result does not depend on the thread count
    x = F.pad(x, (radius, radius, 0, 0), mode="replicate")
    x = sum(kernel[:, k] * x[..., k : k + width] for k in range(2 * radius + 1))
    x = F.pad(x, (0, 0, radius, radius), mode="replicate")
    return sum(kernel[:, k] * x[..., k : k + height, :] for k in range(2 * radius + 1))


def make_synthdigits(n: int, seed: int, glyphs: Tensor, chunk: int = 4096) -> tuple[Tensor, Tensor]:
    """``n`` digits uint8 [n, 1, 28, 28] and their labels [n]; the same seed and glyphs give the same data."""
    generator = torch.Generator().manual_seed(seed)
    fonts, _, strokes = glyphs.shape[:3]
    labels = torch.randint(10, (n,), generator=generator)
    font = torch.randint(fonts, (n,), generator=generator)
    stroke = torch.randint(strokes, (n,), generator=generator)
    theta = random_affines(n, generator)
    blur = _uniform(n, 0, MAX_BLUR, generator)
    noise = _uniform(n, 0, MAX_NOISE, generator)
    images = torch.empty(n, 1, SIZE, SIZE, dtype=torch.uint8)
    for idx in torch.arange(n).split(chunk):
        x = glyphs[font[idx], labels[idx], stroke[idx]].unsqueeze(1)
        grid = F.affine_grid(theta[idx], [len(idx), 1, CANVAS, CANVAS], align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", antialias=True, align_corners=False)
        x = gaussian_blur(x, blur[idx])
        x = x / x.amax((1, 2, 3), keepdim=True).clamp_min(1e-3)  # MNIST's strokes peak at full white
        x = x + noise[idx, None, None, None] * torch.randn(x.shape, generator=generator)
        images[idx] = (x.clamp(0, 1) * 255).round().to(torch.uint8)
    return images, labels


def load_synthdigits(split: str = "train", data_dir: str | None = None, seed: int = SEED) -> ImageData:
    """Synthetic digits: train (60k), train50k, valid (the last 10k of train) or test (10k, another seed).
    ``data_dir`` is not used (the data is generated)."""
    check_split(split, "synthdigits")
    part = "test" if split == "test" else "train"
    n = SPLIT_SIZES[part]
    files = font_files()
    key = {"dataset": "synthdigits", "version": VERSION, "seed": seed, "part": part, "n": n, "fonts": font_ids(files)}

    def build() -> dict[str, np.ndarray]:
        images, labels = make_synthdigits(n, derived_seed("synthdigits", part, seed), render_glyphs(files))
        return {f"{part}_images": images.numpy(), f"{part}_labels": labels.numpy()}

    arrays = cached_arrays(
        f"synthdigits-{part}", key, build, {f"{part}_images": (n, 1, SIZE, SIZE), f"{part}_labels": (n,)}
    )
    return select_split(arrays, split, "synthdigits")


register_dataset(DatasetSpec("synthdigits", resized_loader(load_synthdigits), DIGIT_SPLITS, "digits"))

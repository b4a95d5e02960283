"""MNIST-M (Ganin et al. 2016, DANN): each MNIST digit blended with a random crop of a colour photo.

output = |patch - digit| per channel, with the digit's 0..255 gray level broadcast over RGB. The original
took its patches from BSDS500; offline, genlab takes them from the photos that ship inside the scikit-image
wheel (scikit-learn's two photos when scikit-image is absent). The files are located without importing
either package, and their names and sha256 go into the cache key, so another photo set is another cache.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ..errors import GenlabError
from ..files import sha256_file
from .generated import array_sha256, cached_arrays, derived_seed
from .images import ImageData
from .mnist import DIGIT_SPLITS, check_split, mnist_arrays, select_split
from .spec import DatasetSpec, register_dataset, resized_loader

VERSION = 1  # bump when the construction changes: old caches are then ignored
SEED = 0
PATCH = 28
MIN_PHOTO_SIDE = 256
PHOTO_VERSION = "scikit-image>=0.22"
INSTALL_PHOTOS = f"pip install --no-deps '{PHOTO_VERSION}'"
# natural colour photos of at least 256 px; by preference: the first installed source is the photo set
PHOTO_SOURCES = (
    (
        "scikit-image",
        (
            "skimage/data/astronaut.png",
            "skimage/data/chelsea.png",
            "skimage/data/coffee.png",
            "skimage/data/motorcycle_left.png",
            "skimage/data/motorcycle_right.png",
            "skimage/data/rocket.jpg",
        ),
    ),
    ("scikit-learn", ("sklearn/datasets/images/china.jpg", "sklearn/datasets/images/flower.jpg")),
)


def photo_files() -> list[Path]:
    """The photos of the first installed source, without importing it; a one-line error when none is."""
    for dist_name, files in PHOTO_SOURCES:
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            continue
        paths = [Path(dist.locate_file(f)) for f in files]
        found = [p for p in paths if p.is_file()]
        if found:
            return found
    raise GenlabError(f"mnistm needs photos and none were found: install them with `{INSTALL_PHOTOS}`")


def load_photo(path: Path) -> Tensor:
    """A colour photo as uint8 [3, H, W]; gray, small or unreadable files are refused."""
    try:
        with Image.open(path) as im:
            if im.mode != "RGB" or min(im.size) < MIN_PHOTO_SIDE:
                raise GenlabError(
                    f"{path} is not a colour photo of at least {MIN_PHOTO_SIDE} px "
                    f"({im.mode}, {im.size[0]}x{im.size[1]})"
                )
            array = np.asarray(im)
    except OSError as err:  # unreadable or truncated (UnidentifiedImageError is one too)
        raise GenlabError(f"cannot read photo {path} ({err}); reinstall with `{INSTALL_PHOTOS}`") from err
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def random_patches(
    photos: list[Tensor], n: int, generator: torch.Generator, size: int = PATCH, chunk: int = 8192
) -> Tensor:
    """``n`` crops [n, 3, size, size] uint8: a uniformly random photo, then a uniformly random position."""
    which = torch.randint(len(photos), (n,), generator=generator)
    heights = torch.tensor([p.shape[1] - size + 1 for p in photos])
    widths = torch.tensor([p.shape[2] - size + 1 for p in photos])
    u = torch.rand(n, 2, generator=generator, dtype=torch.float64)
    top = (u[:, 0] * heights[which]).long().clamp_max(heights[which] - 1)
    left = (u[:, 1] * widths[which]).long().clamp_max(widths[which] - 1)
    offsets = torch.arange(size)
    out = torch.empty(n, 3, size, size, dtype=torch.uint8)
    for k, photo in enumerate(photos):
        flat = photo.reshape(3, -1)
        for idx in (which == k).nonzero().squeeze(1).split(chunk):
            rows = (top[idx, None] + offsets) * photo.shape[2]  # [m, size]
            pixel = (rows[:, :, None] + left[idx, None, None] + offsets).reshape(-1)  # [m * size * size]
            out[idx] = flat[:, pixel].view(3, len(idx), size, size).transpose(0, 1)
    return out


def blend(patches: Tensor, digits: Tensor) -> Tensor:
    """|patch - digit| per channel: patches uint8 [N, 3, H, W], digits uint8 [N, 1, H, W] or [N, H, W]."""
    if digits.dim() == 3:
        digits = digits.unsqueeze(1)
    return (patches.to(torch.int16) - digits.to(torch.int16)).abs_().to(torch.uint8)


def make_mnistm(digits: Tensor, photos: list[Tensor], seed: int) -> Tensor:
    """Blend every digit [N, 28, 28] uint8 with a random patch; the same seed gives the same images."""
    generator = torch.Generator().manual_seed(seed)
    return blend(random_patches(photos, digits.shape[0], generator, digits.shape[-1]), digits)


def load_mnistm(split: str = "train", data_dir: str | None = None, seed: int = SEED) -> ImageData:
    """MNIST-M split: train (60k, from MNIST train), train50k, valid (its last 10k) or test (10k, from MNIST
    test). Image i is MNIST image i of the same split on a photo patch; labels are MNIST's."""
    check_split(split, "mnistm")
    part = "test" if split == "test" else "train"
    files = photo_files()
    mnist = mnist_arrays(data_dir)
    digits, labels = mnist[f"{part}_images"], mnist[f"{part}_labels"]
    key = {
        "dataset": "mnistm",
        "version": VERSION,
        "seed": seed,
        "part": part,
        "photos": [[f.name, sha256_file(f)] for f in files],
        "digits_sha256": array_sha256(digits),
        "labels_sha256": array_sha256(labels),
    }

    def build() -> dict[str, np.ndarray]:
        photos = [load_photo(f) for f in files]
        images = make_mnistm(torch.from_numpy(digits), photos, derived_seed("mnistm", part, seed))
        return {f"{part}_images": images.numpy(), f"{part}_labels": labels}

    n = digits.shape[0]
    arrays = cached_arrays(
        f"mnistm-{part}", key, build, {f"{part}_images": (n, 3, PATCH, PATCH), f"{part}_labels": (n,)}
    )
    return select_split(arrays, split, "mnistm")


register_dataset(DatasetSpec("mnistm", resized_loader(load_mnistm), DIGIT_SPLITS, "digits"))

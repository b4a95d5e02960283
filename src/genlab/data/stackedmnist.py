"""Stacked MNIST (Metz et al. 2017; the PacGAN / VEEGAN mode-collapse benchmark): three MNIST digits drawn
independently at random become the R, G and B channels of one 28x28 image, so the data has 10^3 = 1,000 modes.

Image i's label is its mode, 100 * digit(R) + 10 * digit(G) + digit(B). Generated offline from MNIST with a fixed
seed (the train split from MNIST's training digits, the test split from its test digits) and cached.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from .generated import array_sha256, cached_arrays, derived_seed
from .images import ImageData
from .mnist import DIGIT_SPLITS, check_split, mnist_arrays, select_split
from .spec import DatasetSpec, register_dataset, resized_loader

VERSION = 1  # bump when the construction changes: old caches are then ignored
SEED = 0
SIZES = {"train": 60000, "test": 10000}  # images per part, as many as MNIST has digits in it
MODES = 1000


def stack_digits(digits: np.ndarray, labels: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n images [n, 3, 28, 28] whose channels are three digits drawn uniformly with replacement, and their modes."""
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(len(digits), (n, 3), generator=generator).numpy()
    images = digits[picks]  # [n, 3, 28, 28]: channel c is digit picks[:, c]
    modes = labels[picks] @ np.array([100, 10, 1])
    return np.ascontiguousarray(images), modes.astype(np.int64)


def load_stackedmnist(split: str = "train", data_dir: str | None = None, seed: int = SEED) -> ImageData:
    """Stacked MNIST split: train (60k), train50k, valid (its last 10k) or test (10k); labels are the modes."""
    check_split(split, "stackedmnist")
    part = "test" if split == "test" else "train"
    mnist = mnist_arrays(data_dir)
    digits, labels, n = mnist[f"{part}_images"], mnist[f"{part}_labels"], SIZES[part]

    def build() -> dict[str, np.ndarray]:
        images, modes = stack_digits(digits, labels, n, derived_seed("stackedmnist", part, seed))
        return {f"{part}_images": images, f"{part}_labels": modes}

    key = {
        "dataset": "stackedmnist",
        "version": VERSION,
        "seed": seed,
        "part": part,
        "n": n,
        "digits_sha256": array_sha256(digits),
        "labels_sha256": array_sha256(labels),
    }
    arrays = cached_arrays(
        f"stackedmnist-{part}", key, build, {f"{part}_images": (n, 3, 28, 28), f"{part}_labels": (n,)}
    )
    data = select_split(arrays, split, "stackedmnist")
    return replace(data, classes=[f"{mode:03d}" for mode in range(MODES)])


# PacGAN's mode count by default (each channel is a digit, read by the digit network) and the pyramid SWD
register_dataset(
    DatasetSpec(
        "stackedmnist", resized_loader(load_stackedmnist), DIGIT_SPLITS, "digits", metric_families=("modes", "swd")
    )
)

"""Shared fixtures: tiny configs and one tiny trained run reused by CLI and evaluation tests."""
from __future__ import annotations

import pytest
import torch

import genlab
from genlab.config import default_config
from genlab.data import ImageData
from genlab.registry import get_model_class

TINY_TRAIN = ["train.epochs=1", "train.batch_size=64", "data.limit=256", "train.eval_images=128",
              "train.grid_size=16"]
TINY = ["model.widths=8,16", "model.hidden=32", "model.latent_dim=4"] + TINY_TRAIN  # a tiny VAE run


def synthetic_images(n: int = 32, channels: int = 1, size: int = 28, seed: int = 0) -> ImageData:
    """Random uint8 images with labels, for tests that need no real data."""
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, channels, size, size), generator=gen, dtype=torch.uint8)
    return ImageData(images, torch.arange(n) % 10, [str(i) for i in range(10)], "synthetic")


def tiny_model(name: str, binarize: str = "dynamic", channels: int = 1, size: int = 28):
    """A small model of any registered family, resolved against synthetic data."""
    config = default_config(name, "tiny")
    config.data.binarize = binarize
    get_model_class(name).resolve_config(config.model, config.data, synthetic_images(2, channels, size))
    torch.manual_seed(0)
    return get_model_class(name)(config.model), config


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A VAE trained for one short epoch on 256 MNIST images."""
    out = tmp_path_factory.mktemp("runs") / "vae"
    genlab.train("vae", overrides=TINY, out=out, echo=lambda s: None)
    return out

"""Helpers shared by genlab's tests and benchmarks: synthetic data, tiny configs, tiny models and tiny runs.

Why a package inside the library: tests and benchmarks import the same helpers without sys.path tricks, and the
helpers follow the code they build on (one place to change when a model or a run layout changes). The split
follows the core / apps layering (tests/test_architecture.py): ``genlab.testing`` is core (it never imports
genlab.apps) and holds pure helpers; ``genlab.apps.testing`` holds what drives the CLI and the studio. Neither
imports pytest: fixtures stay in tests/conftest.py.

- ``genlab.testing``: synthetic data and tiny models, built in memory.
- ``genlab.testing.runs``: tiny trained runs and image-domain folders on disk.
- ``genlab.testing.ddp_worker``: the script torchrun starts in the data-parallel tests.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from ..data import ImageData
from ..models import default_config, get_model_class
from ..runs import WEIGHTS, resolve_model_config, save_checkpoint

TINY_TRAIN = ["train.epochs=1", "train.batch_size=64", "data.limit=256", "train.eval_images=128", "train.grid_size=16"]
TINY = ["model.widths=8,16", "model.hidden=32", "model.latent_dim=4"] + TINY_TRAIN  # a tiny VAE run


def synthetic_images(n: int = 32, channels: int = 1, size: int = 28, seed: int = 0) -> ImageData:
    """Random uint8 images with labels, for tests that need no real data."""
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, channels, size, size), generator=gen, dtype=torch.uint8)
    return ImageData(images, torch.arange(n) % 10, [str(i) for i in range(10)], "synthetic")


def synthetic_points(n: int = 32, seed: int = 0) -> ImageData:
    """Random 2-D points labelled by 8 modes, shaped like the toy2d datasets."""
    points = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))
    return ImageData(points, torch.arange(n) % 8, [str(i) for i in range(8)], "synthetic")


def two_domains(n: int = 4, channels: int = 1, size: int = 28) -> ImageData:
    """Random images labelled A, B, A, B, ..., as unpaired data gives the image-to-image models."""
    data = synthetic_images(n, channels, size)
    return ImageData(data.images, torch.arange(n) % 2, ["A", "B"], "synthetic")


def tiny_model(name: str, binarize: str = "dynamic", channels: int = 1, size: int = 28):
    """A small model of any registered family, resolved against synthetic data (a latent-gan gets an untrained
    tiny autoencoder run of the same image size)."""
    config = default_config(name, "tiny")
    config.data.binarize = binarize
    give_pretrained_runs(config, channels, size)
    resolve_model_config(config, synthetic_images(2, channels, size))
    torch.manual_seed(0)
    return get_model_class(name)(config.model), config


def give_pretrained_runs(config, channels: int = 1, size: int = 28) -> None:
    """Point every run a model must build on (latent-gan, code-dae: an autoencoder) at an untrained tiny one."""
    model_cls = get_model_class(config.model_name)
    for field in set(model_cls.pretrained) - set(model_cls.optional_pretrained):
        setattr(config.model, field, str(tiny_autoencoder_run(channels, size)))


@functools.cache
def tiny_autoencoder_run(channels: int = 1, size: int = 28) -> Path:
    """A run folder holding an untrained tiny autoencoder (weights and config), made once per image size."""
    model, config = tiny_model("autoencoder", "none", channels, size)
    with torch.no_grad():  # code statistics away from the (0, 1) defaults, so standardization shows
        model.code_mean.uniform_(-1, 1)
        model.code_var.uniform_(0.5, 2)
    folder = Path(tempfile.mkdtemp(prefix="genlab-tiny-ae-"))
    atexit.register(shutil.rmtree, folder, True)
    save_checkpoint(folder, model, config)
    return folder


def run_weights(run: Path) -> dict[str, torch.Tensor]:
    """The inference weights of a run folder."""
    return load_file(str(Path(run) / "checkpoint" / WEIGHTS))


def domain_batch(model, n: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """2n images in [-1, 1] of an image-to-image model's size, labelled A, B, A, B, ..."""
    x = torch.rand(2 * n, model.config.channels, model.config.image_size, model.config.image_size) * 2 - 1
    return x, torch.tensor([0, 1]).repeat(n)


class Halve(nn.Module):
    """A stand-in generator with a known output: x / 2."""

    def forward(self, x):
        return 0.5 * x


class PixelStats(nn.Module):
    """A tiny user extractor: per-image mean, std and four quadrant means of the gray image."""

    name = "pixel-stats"
    weights_sha256 = "0" * 64

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1), requires_grad=False)

    def forward(self, x):
        x = x.float().mean(1)
        h, w = x.shape[-2] // 2, x.shape[-1] // 2
        quads = [x[:, :h, :w], x[:, :h, w:], x[:, h:, :w], x[:, h:, w:]]
        return self.scale * torch.stack([x.mean((1, 2)), x.std((1, 2))] + [q.mean((1, 2)) for q in quads], 1)

"""Shared fixtures: tiny configs and one tiny trained run reused by CLI and evaluation tests."""
from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import settings
from safetensors.torch import load_file
from torch import nn

import genlab
from genlab.apps.cli import main
from genlab.data import ImageData
from genlab.models import default_config, get_model_class
from genlab.runs import resolve_model_config, save_checkpoint

# CI replays the same examples on every run (no flaky red); locally each run explores new ones
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

TINY_TRAIN = ["train.epochs=1", "train.batch_size=64", "data.limit=256", "train.eval_images=128",
              "train.grid_size=16"]
TINY = ["model.widths=8,16", "model.hidden=32", "model.latent_dim=4"] + TINY_TRAIN  # a tiny VAE run


def synthetic_images(n: int = 32, channels: int = 1, size: int = 28, seed: int = 0) -> ImageData:
    """Random uint8 images with labels, for tests that need no real data."""
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, channels, size, size), generator=gen, dtype=torch.uint8)
    return ImageData(images, torch.arange(n) % 10, [str(i) for i in range(10)], "synthetic")


def tiny_model(name: str, binarize: str = "dynamic", channels: int = 1, size: int = 28):
    """A small model of any registered family, resolved against synthetic data (a latent-gan gets an untrained
    tiny autoencoder run of the same image size)."""
    config = default_config(name, "tiny")
    config.data.binarize = binarize
    model_cls = get_model_class(name)
    for field in set(model_cls.pretrained) - set(model_cls.optional_pretrained):  # latent-gan, code-dae: the
        setattr(config.model, field, str(tiny_autoencoder_run(channels, size)))  # autoencoder run they build on
    resolve_model_config(config, synthetic_images(2, channels, size))
    torch.manual_seed(0)
    return get_model_class(name)(config.model), config


@functools.lru_cache(maxsize=None)
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


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A VAE trained for one short epoch on 256 MNIST images."""
    out = tmp_path_factory.mktemp("runs") / "vae"
    genlab.train("vae", overrides=TINY, out=out, echo=lambda s: None)
    return out


@pytest.fixture(scope="module")
def one_thread():
    """Tiny convolutions run fastest on one thread, and much faster on a machine whose cores are busy
    (use with ``pytestmark = pytest.mark.usefixtures("one_thread")``)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Halve(nn.Module):
    """A stand-in generator with a known output: x / 2."""

    def forward(self, x):
        return 0.5 * x


def domain_batch(model, n=4):
    """2n images in [-1, 1] of an image-to-image model's size, labelled A, B, A, B, ..."""
    x = torch.rand(2 * n, model.config.channels, model.config.image_size, model.config.image_size) * 2 - 1
    return x, torch.tensor([0, 1]).repeat(n)


def run_cli(capsys, *argv):
    """genlab's exit code, stdout and stderr for one command line."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_weights(run):
    """The inference weights of a run folder."""
    return load_file(str(run / "checkpoint" / "model.safetensors"))


def straight_and_resumed(model: str, data: str, preset: str, settings: list[str], root, stop: int = 3):
    """The same run trained straight through, and stopped after ``stop`` steps then resumed: the two run
    folders and the training state saved at the stop."""
    quiet = {"echo": lambda s: None}
    genlab.train(model, data=data, preset=preset, overrides=settings, out=root / "straight", **quiet)
    genlab.train(model, data=data, preset=preset, overrides=settings + [f"train.max_steps={stop}"],
                 out=root / "split", **quiet)
    state = torch.load(root / "split" / "checkpoint" / "train_state.pt", weights_only=True)
    genlab.train(out=root / "split", resume=True, overrides=["train.max_steps=none"], **quiet)
    return root / "straight", root / "split", state


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

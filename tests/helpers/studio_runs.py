"""Tiny trained runs for the studio, report and browser tests, made once per test session (seconds each)."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

import genlab

QUIET = {"echo": lambda s: None}
SHORT = ["train.epochs=2", "train.batch_size=64", "data.limit=256", "train.eval_images=128", "train.grid_size=16"]


def vae_run(root: Path) -> Path:
    """A VAE with a 2-D latent space (so the manifold grid applies), on MNIST."""
    return _train(root / "vae", "vae", "mnist", ["model.widths=8,16", "model.hidden=32", "model.latent_dim=2"])


def conditional_gan_run(root: Path) -> Path:
    """A class-conditional GAN on MNIST (10 classes)."""
    return _train(root / "cgan", "gan", "mnist", ["model.conditional=true"], preset="tiny")


def toy_gan_run(root: Path) -> Path:
    """A GAN on the 8-Gaussian ring (points, not images)."""
    return _train(root / "toy", "gan", "toy2d:ring8", ["train.epochs=1", "data.limit=512"], preset="toy",
                  short=False)


def cyclegan_run(root: Path) -> Path:
    """A tiny CycleGAN between dark gray squares (A) and bright RGB circles (B)."""
    a, b = write_domains(root / "domains")
    return _train(root / "cyclegan", "cyclegan", f"unpaired:{a},{b}",
                  ["model.image_size=32", "model.pool_size=4", "train.batch_size=4", "train.epochs=1",
                   "data.test_fraction=0.15", "train.eval_images=8"], preset="tiny", short=False)


def write_domains(root: Path, n: int = 16) -> tuple[Path, Path]:
    """Domain A: dark gray squares; domain B: bright RGB circles."""
    for domain in ("A", "B"):
        (root / domain).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = Image.new("L", (40, 40), 20)
        ImageDraw.Draw(img).rectangle([8 + i % 5, 8, 28, 28 + i % 4], fill=90)
        img.save(root / "A" / f"a{i}.png")
    for i in range(n // 2):
        img = Image.new("RGB", (48, 48), (230, 230, 200))
        ImageDraw.Draw(img).ellipse([10, 10 + i % 3, 38, 38], fill=(250, 120 + 10 * i, 40))
        img.save(root / "B" / f"b{i}.png")
    return root / "A", root / "B"


def _train(out: Path, model: str, data: str, settings: list[str], preset: str | None = None,
           short: bool = True) -> Path:
    if not (out / "checkpoint").is_dir():
        genlab.train(model, data=data, preset=preset, overrides=(SHORT if short else []) + settings, out=out,
                     **QUIET)
    return out

"""Tiny runs and image-domain folders on disk, for tests and benchmarks (see genlab.testing)."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw

from ..training import train

QUIET = {"echo": lambda line: None}


def write_domains(root: Path, n: int = 16, nested: bool = False) -> tuple[Path, Path]:
    """Domain A: n dark gray squares; domain B: n/2 bright RGB circles (different sizes and channels). ``nested``
    puts every fourth square in A/sub, for tests of relative names."""
    for domain in ("A", "B"):
        (root / domain / ("sub" if nested else "")).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = Image.new("L", (40, 40), 20)
        ImageDraw.Draw(img).rectangle([8 + i % 5, 8, 28, 28 + i % 4], fill=90)
        img.save(root / "A" / ("sub" if nested and i % 4 == 0 else "") / f"a{i}.png")
    for i in range(n // 2):
        img = Image.new("RGB", (48, 48), (230, 230, 200))
        ImageDraw.Draw(img).ellipse([10, 10 + i % 3, 38, 38], fill=(250, 120 + 10 * i, 40))
        img.save(root / "B" / f"b{i}.png")
    return root / "A", root / "B"


def straight_and_resumed(model: str, data: str, preset: str, settings: list[str], root: Path, stop: int = 3):
    """The same run trained straight through, and stopped after ``stop`` steps then resumed: the two run
    folders and the training state saved at the stop."""
    train(model, data=data, preset=preset, overrides=settings, out=root / "straight", **QUIET)
    train(
        model, data=data, preset=preset, overrides=settings + [f"train.max_steps={stop}"], out=root / "split", **QUIET
    )
    state = torch.load(root / "split" / "checkpoint" / "train_state.pt", weights_only=True)
    train(out=root / "split", resume=True, overrides=["train.max_steps=none"], **QUIET)
    return root / "straight", root / "split", state


def trained_both_ways(model: str, settings: list[str], root: Path):
    """Two domains under ``root`` and ``model`` trained on them (preset tiny) straight through, and stopped after 3
    steps then resumed: (domains, (straight run, split run, the training state at the stop))."""
    domains = write_domains(root / "domains", nested=True)
    data = f"unpaired:{domains[0]},{domains[1]}"
    return domains, straight_and_resumed(model, data, "tiny", settings, root / model)

"""Helpers shared by the CLI verbs: output paths that never overwrite silently, run loading."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...errors import GenlabError


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and examples kept verbatim in --help."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        message = re.sub(r"^argument ([^:]+): (must|invalid)", r"\1 \2", message)  # "--seed must be ..."
        raise GenlabError(f"{self.prog}: {message} (see {self.prog} --help)")


def integer(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high] (no upper bound when high is None), written in ASCII digits."""

    def parse(text: str) -> int:
        if not re.fullmatch(r"[+-]?[0-9]+", text.strip()):
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}")
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be in {low}..{high}, got {value}")
        return value

    return parse


def number(low: float = -math.inf, high: float = math.inf) -> Callable[[str], float]:
    """An argparse type: a finite number in [low, high] (NaN and infinities refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be a finite number in [{low:g}, {high:g}], got {text!r}")
        return value

    return parse


SEED = integer(0, 2**32 - 1)  # what torch.Generator.manual_seed takes on every device
COUNT = integer(1, 10**9)  # images, steps, rows: at least one


def check_grid(count: int, image_size: int, what: str, scale: int = 2) -> None:
    """One clear line when a picture of ``count`` images would pass Pillow's decompression-bomb limit, which
    readers (genlab report, browsers, Pillow) refuse; checked before anything is drawn."""
    from PIL import Image

    pixels = count * (image_size * scale + 2) ** 2
    if pixels > Image.MAX_IMAGE_PIXELS // 2:
        most = max(1, Image.MAX_IMAGE_PIXELS // 2 // (image_size * scale + 2) ** 2)
        raise GenlabError(
            f"{what}: {count:,} images of {image_size} px make a picture too large to read back; "
            f"at most {most:,} fit in one"
        )


def output_path(path: str | Path, force: bool) -> Path:
    """Where to write; an existing file is only replaced with --force."""
    path = Path(path)
    if path.exists() and not force:
        raise GenlabError(f"{path} already exists; pass --force to overwrite it")
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp", ".bmp"):
        raise GenlabError(f"output {path} must be an image file name (.png, .jpg, ...)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def add_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run folder written by `genlab train`")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, mps (default: auto)")


def add_output(parser: argparse.ArgumentParser, default_name: str, what: str = "PNG") -> None:
    parser.add_argument("-o", "--output", help=f"{what} to write (default: RUN/{default_name})")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")


def resolve_output(args: argparse.Namespace, default_name: str) -> Path:
    return output_path(args.output or Path(args.run) / default_name, args.force)


def load_model(args: argparse.Namespace) -> tuple[Any, Any]:
    from ...devices import pick_device
    from ...runs import load_run

    return load_run(args.run, pick_device(args.device))


def require_images(model: Any, verb: str) -> None:
    """Latent-space pictures need an image model; point models get a clear line instead."""
    if getattr(model, "points", False):
        raise GenlabError(f"{verb} draws images; this model makes 2-D points (use genlab sample for a scatter plot)")


def report(path: Path) -> None:
    print(f"wrote {path}")

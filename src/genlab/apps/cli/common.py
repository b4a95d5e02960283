"""Helpers shared by the CLI verbs: output paths that never overwrite silently, run loading."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ...errors import GenlabError


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and examples kept verbatim in --help."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise GenlabError(f"{self.prog}: {message} (see {self.prog} --help)")


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

"""Translate image files and folders with a trained image-to-image model (``genlab translate``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..data.folder import image_files, read_image, report_skipped, stack_images
from ..errors import GenlabError
from ..samplers import check_direction, round_trip, seeded_styles
from ..viz import save_grid, save_image

GRID_ROWS = 64  # inputs shown in the --grid picture


def collect_inputs(inputs: Sequence[str | Path]) -> list[tuple[Path, Path]]:
    """(image file, its name below the output folder): a file keeps its name, a folder's files (recursive)
    keep their paths relative to that folder."""
    found: list[tuple[Path, Path]] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            files = image_files(path)
            if not files:
                raise GenlabError(f"no image files in folder {path}")
            found += [(f, f.relative_to(path)) for f in files]
        elif path.is_file():
            found.append((path, Path(path.name)))
        else:
            raise GenlabError(f"input {path} does not exist")
    seen: dict[Path, Path] = {}
    for source, name in found:
        if name in seen:
            raise GenlabError(f"{seen[name]} and {source} would both be written as {name}")
        seen[name] = source
    return found


def input_root(inputs: Sequence[str | Path]) -> Path:
    """The folder that holds every input folder (where skipped files are named from)."""
    folders = [str(Path(i).expanduser()) for i in inputs if Path(i).expanduser().is_dir()]
    try:
        return Path(os.path.commonpath(folders)) if folders else Path.cwd()
    except ValueError:  # relative and absolute paths mixed
        return Path.cwd()


def _targets(files: list[tuple[Path, Path]], out_dir: Path, grid: Path | None, force: bool) -> list[Path]:
    """Output paths of every input; nothing is written when one exists already (unless ``force``)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise GenlabError(f"--out {out_dir} is a file, not a folder")
    targets = [out_dir / name for _, name in files]
    if grid is not None and grid in targets:
        raise GenlabError(f"an input would be written over the grid picture {grid}")
    existing = [t for t in targets + ([grid] if grid else []) if t.exists()]
    if existing and not force:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise GenlabError(f"{existing[0]} already exists{more}; pass --force to overwrite")
    return targets


def decode_batch(
    files: list[tuple[Path, Path]],
    targets: list[Path],
    named: set[Path],
    size: int,
    channels: int,
    bad: list[tuple[Path, str]],
) -> tuple[torch.Tensor | None, list[Path]]:
    """The batch's images that decode (float, the model's size and channels) and their targets. As training
    reads folders, a bad file found in a folder is skipped (added to ``bad``); one named on the command line
    is an error."""
    arrays, kept = [], []
    for (source, _), target in zip(files, targets):
        try:
            arrays.append(read_image(source, size)[0])
            kept.append(target)
        except Exception as e:
            if source in named:
                raise GenlabError(f"cannot read image {source}: {type(e).__name__}: {e}") from None
            bad.append((source, type(e).__name__))
    return (stack_images(arrays, channels) if arrays else None), kept


@torch.no_grad()
def translate_files(
    model: Any,
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    direction: str = "a2b",
    grid: bool = False,
    force: bool = False,
    batch_size: int = 64,
    seed: int = 0,
) -> list[Path]:
    """Translate every input image into ``out_dir`` (same relative names, at the model's resolution);
    ``grid`` adds ``grid_<direction>.png`` with rows input | translated | cycled back (no way back for a
    one-way model such as the refiner); a translator with style codes draws them from ``seed``. Returns the
    paths."""
    check_direction(model, direction)
    files = collect_inputs(inputs)
    out_dir = Path(out_dir)
    grid_path = out_dir / f"grid_{direction}.png" if grid else None
    targets = _targets(files, out_dir, grid_path, force)
    size, channels = model.config.image_size, model.config.channels
    named = {Path(i).expanduser() for i in inputs if Path(i).expanduser().is_file()}
    decode_batch([(f, f) for f in named], list(named), set(named), size, channels, [])  # fail before writing
    rows, written, bad = [], [], []
    for start in range(0, len(files), batch_size):
        x, kept = decode_batch(
            files[start : start + batch_size], targets[start : start + batch_size], named, size, channels, bad
        )
        if x is None:
            continue
        with seeded_styles(model, seed + start):  # styles (if any) drawn per batch from the seed
            trips = round_trip(model, x, direction)  # [n, 3 (or 2 one way), C, H, W]
        for image, target in zip(trips[:, 1], kept):
            written.append(save_image(image, target))
        if grid_path is not None and start < GRID_ROWS:
            rows.append(trips[: GRID_ROWS - start])
    report_skipped(input_root(inputs), bad)
    if not written:
        raise GenlabError("none of the input images could be read")
    if grid_path is not None:
        written.append(save_grid(torch.cat(rows).flatten(0, 1), grid_path, nrow=rows[0].shape[1], scale=2))
    return written

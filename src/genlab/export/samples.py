"""Many samples to files, batch by batch with bounded memory (``genlab sample --format npz|png-dir``).

The samples are ``sample_batches(model, n, seed, batch_size, label)``: batches drawn one after the other from
one CPU generator seeded once, so the same seed and batch size give the same files (and a batch size of n or
more gives ``sample_images(model, n, seed, label)``). Only one batch is held at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor

from ..data import to_uint8
from ..data.arrays import npz_path, stream_arrays
from ..devices import check_disk
from ..errors import GenlabError
from ..files import write_npz_streamed
from ..models.capabilities import Sampler
from ..samplers import sample_batches, sample_labels
from ..viz import save_image

FORMATS = ("npz", "png-dir")
POINTS = "points"  # the array of a point model's samples: float32 [N, 2]


def export_samples(
    model: Sampler,
    path: str | Path,
    n: int,
    fmt: str = "npz",
    *,
    seed: int = 0,
    batch_size: int = 500,
    label: int | None = None,
    force: bool = False,
    domain: str | None = None,
) -> Path:
    """n samples into ``path`` as ``fmt``: ``npz`` (``save_npz``) or ``png-dir`` (``save_png_dir``); ``domain``
    picks one of a two-domain model's (UNIT)."""
    if fmt not in FORMATS:
        raise GenlabError(f"unknown sample format {fmt!r}; use one of {', '.join(FORMATS)}")
    check_disk(planned_bytes(model, n), Path(path).parent, f"{n:,} samples")
    save = save_npz if fmt == "npz" else save_png_dir
    return save(model, path, n, seed=seed, batch_size=batch_size, label=label, force=force, domain=domain)


def save_npz(
    model: Sampler,
    path: str | Path,
    n: int,
    *,
    seed: int = 0,
    batch_size: int = 500,
    label: int | None = None,
    force: bool = False,
    domain: str | None = None,
) -> Path:
    """An .npz in genlab's dataset format (``--data npz:PATH`` reads it): ``train_images`` uint8, ``train_labels``
    (the class drawn from, 0 for an unconditional model) and ``classes``; a point model writes float32
    ``points`` [n, 2] instead."""
    path = free_file(npz_path(path), force)
    batches = sample_batches(model, n, seed, batch_size, label, domain)
    if getattr(model, "points", False):
        return write_npz_streamed(path, {POINTS: (n, (b.numpy() for b in batches))})
    classes = [str(c) for c in range(getattr(model, "num_classes", 0))] or ["0"]
    return stream_arrays(path, n, (to_uint8(b) for b in batches), label_batches(model, n, batch_size, label), classes)


def planned_bytes(model: Sampler, n: int) -> int:
    """What n samples take on disk at most: uint8 pixels (float32 pairs for a point model), before compression."""
    if getattr(model, "points", False):
        return n * 2 * 4
    c = model.config
    return n * c.channels * c.image_size * c.image_size


def label_batches(model: Sampler, n: int, batch_size: int, label: int | None) -> Iterator[Tensor]:
    """The classes of ``sample_batches``' samples batch by batch, zeros for an unconditional model."""
    for start in range(0, n, batch_size):
        count = min(batch_size, n - start)
        labels = sample_labels(model, label, start, count)
        yield torch.zeros(count, dtype=torch.long) if labels is None else labels.cpu()


def save_png_dir(
    model: Sampler,
    folder: str | Path,
    n: int,
    *,
    seed: int = 0,
    batch_size: int = 500,
    label: int | None = None,
    force: bool = False,
    domain: str | None = None,
) -> Path:
    """One PNG per sample, ``000000.png``, ``000001.png``, ... in ``folder`` (a non-empty one only with
    ``force``, which replaces files of the same names)."""
    if getattr(model, "points", False):
        raise GenlabError(
            "--format png-dir writes images; this model makes 2-D points (use --format npz for "
            "the points or --format png for a scatter plot)"
        )
    folder = free_folder(Path(folder), force)
    batches = sample_batches(model, n, seed, batch_size, label, domain)
    folder.mkdir(parents=True, exist_ok=True)
    width, index = max(6, len(str(n - 1))), 0
    for batch in batches:
        for image in batch:
            save_image(image, folder / f"{index:0{width}d}.png")
            index += 1
    return folder


def free_file(path: Path, force: bool) -> Path:
    """``path`` when a file may be written there: not a folder, and not an existing file unless ``force``."""
    if path.is_dir():
        raise GenlabError(f"{path} is a folder; name an .npz file")
    if path.exists() and not force:
        raise GenlabError(f"{path} already exists; pass --force to overwrite it")
    return path


def free_folder(folder: Path, force: bool) -> Path:
    """``folder`` when images may be written into it: not a file, and empty or new unless ``force``."""
    if folder.exists() and not folder.is_dir():
        raise GenlabError(f"{folder} is a file, not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise GenlabError(f"{folder} is not empty; pass --force to write into it")
    return folder

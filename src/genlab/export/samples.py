"""Many samples to files, batch by batch with bounded memory (``genlab sample --format npz|png-dir``).

The samples are ``sample_batches(model, n, seed, batch_size, label)``: batches drawn one after the other from
one CPU generator seeded once, so the same seed and batch size give the same files (and a batch size of n or
more gives ``sample_images(model, n, seed, label)``). Only one batch is held at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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
READ_BY = "labels_read_by"  # the array naming who read the labels of a ``SampleReader``'s .npz


@dataclass(frozen=True)
class SampleReader:
    """Labels an unconditional model's samples get from the images themselves (Stacked MNIST: the mode each
    sample's channels are read as by a digit network), instead of 0 for all."""

    read: Callable[[Tensor], Tensor]  # images [B, C, H, W] in [0, 1] -> labels [B]
    classes: list[str]  # the data's class names, indexed by label
    source: str  # who read them (a network and its weights), stored in the .npz as READ_BY


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
    reader: SampleReader | None = None,
) -> Path:
    """n samples into ``path`` as ``fmt``: ``npz`` (``save_npz``, labelled by ``reader`` when given) or ``png-dir``
    (``save_png_dir``); ``domain`` picks one of a two-domain model's (UNIT)."""
    if fmt not in FORMATS:
        raise GenlabError(f"unknown sample format {fmt!r}; use one of {', '.join(FORMATS)}")
    check_disk(planned_bytes(model, n), Path(path).parent, f"{n:,} samples")
    options = {"seed": seed, "batch_size": batch_size, "label": label, "force": force, "domain": domain}
    if fmt == "npz":
        return save_npz(model, path, n, reader=reader, **options)
    return save_png_dir(model, path, n, **options)


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
    reader: SampleReader | None = None,
) -> Path:
    """An .npz in genlab's dataset format (``--data npz:PATH`` reads it): ``train_images`` uint8, ``train_labels``
    (the class drawn from; for an unconditional model 0, or what ``reader`` reads) and ``classes``; a point model
    writes float32 ``points`` [n, 2] instead."""
    path = free_file(npz_path(path), force)
    batches = sample_batches(model, n, seed, batch_size, label, domain)
    if getattr(model, "points", False):
        return write_npz_streamed(path, {POINTS: (n, (b.numpy() for b in batches))})
    if reader is not None and label is None and not getattr(model, "num_classes", 0):
        return save_read_npz(path, n, batches, reader)
    classes = [str(c) for c in range(getattr(model, "num_classes", 0))] or ["0"]
    return stream_arrays(path, n, (to_uint8(b) for b in batches), label_batches(model, n, batch_size, label), classes)


def save_read_npz(path: Path, n: int, batches: Iterator[Tensor], reader: SampleReader) -> Path:
    """The samples with the labels ``reader`` reads from each batch as it is written, and who read them."""
    read: list[Tensor] = []

    def images() -> Iterator[Tensor]:
        for batch in batches:
            read.append(reader.read(batch).cpu())
            yield to_uint8(batch)

    def labels() -> Iterator[Tensor]:
        yield from read  # complete by now: the images are written first

    extra = {READ_BY: np.array([reader.source], dtype=str)}
    return stream_arrays(path, n, images(), labels(), reader.classes, extra)


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

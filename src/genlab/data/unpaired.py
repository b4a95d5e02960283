"""Unpaired two-domain data for image-to-image translation: ``unpaired:A,B``.

A and B are image folders (any existing directory) or any dataset name ``load_dataset`` accepts
(``mnist``, ``folder:PATH``, ...). The result is ONE ImageData whose labels are the domain (0 = A, 1 = B):
both domains at the same size and channel count, the smaller one repeated (seeded) to the size of the
larger, interleaved A, B, A, B, ... so that ``data.limit`` and every prefix keep both halves, and a
shuffled batch holds about half of each. Being one ordinary dataset, it is shuffled, resumed mid-epoch
and checkpointed by the generic loop like any other.

Each image keeps its class in its own domain: ``class_labels`` index ``class_names`` (A's classes, then
B's that A lacks), so MNIST's "3" is class 3 on both sides. ``load_domains`` gives the two domains themselves,
labelled by class, not repeated and not interleaved (e.g. to score translations); each is loaded by its name.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from ..devices import check_fits
from ..errors import GenlabError
from .catalog import has_domains, load_dataset
from .images import ImageData, resized
from .spec import DatasetSpec, LoadOptions, register_dataset

DOMAINS = ["A", "B"]
USAGE = "unpaired data names two domains: unpaired:DIR_A,DIR_B or unpaired:NAME_A,NAME_B"


def domain_source(part: str) -> str:
    """A dataset name for one domain: an existing directory becomes ``folder:DIR``, anything else stays."""
    part = part.strip()
    if not part:
        raise GenlabError(USAGE)
    if has_domains(part):
        raise GenlabError("a domain of unpaired data cannot itself be unpaired data")
    return f"folder:{part}" if Path(part).expanduser().is_dir() else part


def split_domains(spec: str) -> tuple[str, str]:
    """``A,B`` -> (A, B); when paths hold commas, the one split whose two sides are existing folders."""
    cuts = [i for i, ch in enumerate(spec) if ch == ","]
    if len(cuts) == 1:
        return spec[: cuts[0]], spec[cuts[0] + 1 :]
    folders = [
        (spec[:i], spec[i + 1 :])
        for i in cuts
        if all(Path(p.strip()).expanduser().is_dir() for p in (spec[:i], spec[i + 1 :]))
    ]
    if len(folders) == 1:
        return folders[0]
    raise GenlabError(USAGE if not cuts else f"cannot tell the two domains apart in {spec!r}; {USAGE}")


def repeat_to(size: int, n: int, generator: torch.Generator) -> Tensor:
    """Indices of ``size`` items stretched to ``n``: whole copies, then a random subset for the remainder."""
    rest = torch.randperm(size, generator=generator)[: n % size]
    return torch.cat([torch.arange(size).repeat(n // size), rest])


def shared_classes(a: ImageData, b: ImageData) -> tuple[list[str], Tensor, Tensor]:
    """One class list for both domains (A's, then B's new names) and each domain's labels into it."""
    names = list(a.classes) + [c for c in b.classes if c not in a.classes]
    remap_b = torch.tensor([names.index(c) for c in b.classes], dtype=torch.long)
    return names, a.labels, remap_b[b.labels] if len(b.classes) else b.labels


def combine_domains(a: ImageData, b: ImageData, seed: int, name: str) -> ImageData:
    """Interleave A and B (labels 0, 1), repeating the smaller domain to the larger's size; each image's
    class goes along in ``class_labels``."""
    names, classes_a, classes_b = shared_classes(a, b)
    if not len(a) or not len(b):  # e.g. a test split that holds out nothing of one small folder
        (one, label, classes) = (a, 0, classes_a) if len(a) else (b, 1, classes_b)
        return ImageData(one.images, torch.full((len(one),), label, dtype=torch.long), DOMAINS, name, classes, names)
    n = max(len(a), len(b))
    check_fits(  # held in memory, interleaved (streamed domains are read in here)
        2 * n * a.images[0].numel() * 2, f"unpaired data of 2 x {n} images", "lower model.image_size"
    )
    gen = torch.Generator().manual_seed(seed)
    index_a, index_b = repeat_to(len(a), n, gen), repeat_to(len(b), n, gen)
    images = torch.stack([a.images[index_a], b.images[index_b]], 1).flatten(0, 1)  # A0, B0, A1, B1, ...
    classes = torch.stack([classes_a[index_a], classes_b[index_b]], 1).flatten()
    return ImageData(images, torch.tensor([0, 1]).repeat(n), DOMAINS, name, classes, names)


def load_domains(
    spec: str, split: str = "train", *, image_size: int = 0, channels: int = 0, seed: int = 0, **options
) -> tuple[ImageData, ImageData]:
    """The two domains of ``spec`` ("A,B"), each with its own class labels, at ``image_size`` / ``channels``
    (0 = the larger of the two domains'); ``options`` go to ``load_dataset`` for each domain."""
    a, b = (
        load_dataset(name, split, image_size=image_size, channels=channels, seed=seed, **options)
        for name in domain_datasets(spec)
    )
    if a.is_points or b.is_points:
        raise GenlabError("unpaired data needs two image datasets, not point data")
    size = image_size or max(a.image_size, b.image_size)
    channels = channels or max(a.channels, b.channels)
    return resized(a, size, channels), resized(b, size, channels)


def domain_datasets(spec: str) -> tuple[str, str]:
    """The dataset names of the two domains of ``spec`` ("A,B"): folders become ``folder:DIR``."""
    a, b = split_domains(spec)
    return domain_source(a), domain_source(b)


def load_unpaired(split: str, options: LoadOptions) -> ImageData:
    """Both domains of ``unpaired:A,B`` as one dataset labelled by domain (see ``load_domains``)."""
    domains = load_domains(
        options.argument,
        split,
        image_size=options.image_size,
        channels=options.channels,
        seed=options.seed,
        data_dir=options.data_dir,
        test_fraction=options.test_fraction,
        stream=options.stream,
        workers=options.workers,
    )
    return combine_domains(*domains, options.seed, f"unpaired:{options.argument}")


register_dataset(
    DatasetSpec("unpaired", load_unpaired, ("train", "test"), "images", argument="A,B", domains=domain_datasets)
)

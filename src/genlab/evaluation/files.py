"""``genlab eval SAMPLES --reference REF``: score one set of images against another, as pytorch-fid's two-folder
command does, with every metric that compares two image sets.

SAMPLES and REF are each a folder of images (all of them, one size), an .npz in genlab's dataset format (its
``train`` split: what ``genlab sample --format npz`` writes) or a dataset name (its ``--split`` for SAMPLES, its
``--reference-split`` for REF). Both must hold images of one size and channel count. The feature network is the
REF dataset's (``digits-v2`` for digit data), or ``--extractor`` / ``--inception-weights``; the pyramid SWD
needs none; Stacked MNIST modes are counted when REF is ``stackedmnist``. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from torch import Tensor

from ..config import DataConfig, RunConfig
from ..data import ImageData, dataset_spec, default_extractor, load_dataset, parse_dataset, to_float
from ..data.arrays import read_arrays, split_of
from ..data.folder import load_image_set
from ..errors import GenlabError
from ..export import is_export
from ..runs import has_checkpoint
from .records import family
from .scoring import score

CLASSIFIER_SCORE = "is"  # the Inception-Score analogue scores one set alone: asked for, never a default here


class StoredSamples:
    """Images read from files, scored in place of a model's samples (``model_batches`` gives its first n)."""

    points = False
    training = False
    device = torch.device("cpu")

    def __init__(self, data: ImageData):
        self.data, self.name = data, data.name

    def supports(self, method: str) -> bool:
        """It has samples, nothing else: no likelihood, encoder or translator."""
        return method == "sample"

    def require(self, method: str, purpose: str) -> None:
        if not self.supports(method):
            raise GenlabError(f"{self.name} is a set of images; it cannot {purpose}")

    def eval(self) -> StoredSamples:
        return self

    def train(self, mode: bool = True) -> StoredSamples:
        return self

    def stored_batches(self, n: int, batch_size: int) -> Iterator[Tensor]:
        """The first n images in [0, 1], ``batch_size`` at a time."""
        images = self.data.images[:n]
        return (to_float(images[s : s + batch_size]) for s in range(0, len(images), batch_size))


def load_image_source(source: str, split: str) -> tuple[ImageData, str]:
    """A folder, an .npz file or a dataset name -> (its images, named for provenance; the dataset name whose spec
    says how they are scored)."""
    path = Path(source).expanduser()
    if path.is_dir() and (has_checkpoint(path) or is_export(path)):
        raise GenlabError(f"{source} is a run folder: genlab eval {source} scores it (--reference is for image sets)")
    if path.is_dir():
        data = load_image_set(path)
        return data, data.name
    if path.suffix == ".npz" or path.is_file():
        data = split_of(read_arrays(path), "train", path)
        return replace(data, name=f"npz:{path}"), f"npz:{path}"
    if "/" in source or path.suffix:
        raise GenlabError(f"{source} does not exist (a folder of images, an .npz file or a dataset name)")
    spec, _ = parse_dataset(source)
    if spec.kind == "points" or spec.domains is not None or spec.path_argument:
        raise GenlabError(f"{source}: name a folder, an .npz file or one dataset of images (mnist, stackedmnist, ...)")
    return replace(load_dataset(source, split), name=f"{source}:{split}"), source


def check_alike(samples: ImageData, reference: ImageData) -> None:
    """One line when the two sets differ in size or channels, or either has fewer than two images."""
    for data in (samples, reference):
        if len(data) < 2:
            raise GenlabError(f"{data.name} holds {len(data)} image(s); scoring needs at least 2")
    if samples.images.shape[1:] != reference.images.shape[1:]:
        raise GenlabError(
            f"{samples.name} holds {_described(samples)} images and {reference.name} {_described(reference)}: "
            "score two sets of one size and channel count"
        )


def _described(data: ImageData) -> str:
    channels = {1: "gray", 3: "RGB"}.get(data.channels, f"{data.channels}-channel")
    return f"{data.images.shape[-2]}x{data.images.shape[-1]} {channels}"


def file_metrics(data_name: str, options: dict[str, Any]) -> list[str]:
    """What applies to two image sets: FID, KID, precision/recall and density/coverage where there is a feature
    network (the data's, or one named), the pyramid SWD always, Stacked MNIST modes where the data has them."""
    named = options.get("extractor") or options.get("inception_weights") or default_extractor(data_name)
    features = [name for name in family("quality") if name != CLASSIFIER_SCORE] if named else []
    modes = family("modes") if "modes" in dataset_spec(data_name).metric_families else []
    return modes + features + family("swd")


def evaluate_files(
    source: str,
    metrics: list[str] | None = None,
    *,
    reference: str,
    split: str = "test",
    reference_split: str = "test",
    **options: Any,
) -> dict[str, Any]:
    """Score the images of ``source`` against those of ``reference`` (see the module docstring); ``samples`` in
    ``options`` scores only the first that many."""
    fake, _ = load_image_source(source, split)
    if (options.get("samples") or 0) > len(fake):
        raise GenlabError(f"--samples {options['samples']}: {source} holds {len(fake)} images")
    real, data_name = load_image_source(reference, reference_split)
    check_alike(fake, real)
    allowed = file_metrics(data_name, {"extractor": True}) + [CLASSIFIER_SCORE]
    unfit = [name for name in metrics or [] if name not in allowed]
    if unfit:
        raise GenlabError(f"{', '.join(unfit)} cannot score image files; use {', '.join(sorted(set(allowed)))}")
    model = SimpleNamespace(image_size=fake.image_size, channels=fake.channels)
    config = RunConfig("samples", model, DataConfig(name=data_name, binarize="none", test_fraction=0.0))
    count = options.get("samples") or len(fake)  # every image, or the first --samples of them
    options = {**{k: v for k, v in options.items() if v is not None}, "samples": count, "mode_samples": count}
    options.update(split=split, reference_split=reference_split)
    results = score(StoredSamples(fake), config, metrics or file_metrics(data_name, options), reference=real, **options)
    for result in results.values():
        result["provenance"]["samples_source"] = fake.name
    return results

"""One record per dataset: everything the rest of genlab needs to know about it, registered in one line by the
module that loads it (see docs/extending.md, "Adding a dataset").

A dataset is named plainly (``mnist``) or with an argument after its prefix (``folder:PATH``,
``toy2d:ring8``, ``unpaired:A,B``); ``catalog.py`` turns a name into its spec and its split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import Tensor

from ..errors import GenlabError
from ..registry import Registry
from .images import ImageData, resized

KINDS = ("digits", "points", "images")
# what each kind is scored with when its spec says nothing else: genlab's digit network (docs/metrics.md) on
# digits, none offline on the others (FID then needs --inception-weights, Heusel et al. 2017's network)
KIND_EXTRACTORS = {"digits": "digits-v2", "points": "", "images": ""}
# the metric families `genlab eval` adds by default: sample quality on digits, PacGAN's mode count on points, the
# sliced Wasserstein distance on pyramid patches (Karras et al. 2018; no network needed) on every kind of images
KIND_METRICS = {"digits": ("quality", "swd"), "points": ("modes",), "images": ("swd",)}


@dataclass(frozen=True)
class LoadOptions:
    """What a loader gets besides the split: the name's argument and the run's data and model sizes."""

    argument: str = ""  # what follows "prefix:" in the name ("" for a plain name)
    data_dir: str | None = None
    image_size: int = 0  # 0 = the data's own
    channels: int = 0  # 0 = the data's own
    test_fraction: float = 0.05  # held out as the test split by data without one
    seed: int = 0  # of that hold-out
    stream: str = "auto"  # folders: auto | always | never stream from their decoded cache (data.stream)
    workers: int = 2  # folders: processes decoding into the cache, threads reading batches ahead (data.workers)


Loader = Callable[[str, LoadOptions], ImageData]


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: how to load a split, what it holds and how genlab scores it by default."""

    name: str  # the plain name, or the prefix of a name that takes an argument ("folder" of folder:PATH)
    loader: Loader  # (split, options) -> that split, at options' size and channels
    splits: tuple[str, ...]  # the splits it has (file formats may store more)
    kind: str  # digits | points | images
    default_extractor: str | None = None  # feature network for FID etc.; None: the kind's; "" none offline
    metric_families: tuple[str, ...] | None = None  # families eval adds by default; None: the kind's
    argument: str = ""  # how the argument is written in its usage ("PATH", "A,B"); "" = a plain name
    path_argument: bool = False  # the argument is a file or folder path
    point_modes: Callable[[str], tuple[Tensor, float]] | None = None  # points: argument -> (centres [M, 2], std)
    domains: Callable[[str], tuple[str, str]] | None = None  # two-domain data: argument -> the domains' names
    binary: bool = False  # near-binary images: dynamically binarized under a Bernoulli likelihood by default
    label: Callable[[str], str] | None = None  # argument -> the short name model cards show

    def __post_init__(self) -> None:
        """Fill the kind's defaults; a spec that cannot work is refused when it registers."""
        if self.kind not in KINDS:
            raise GenlabError(f"dataset {self.name!r}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not self.splits or not callable(self.loader):
            raise GenlabError(f"dataset {self.name!r} needs a loader and at least one split")
        if self.default_extractor is None:
            object.__setattr__(self, "default_extractor", KIND_EXTRACTORS[self.kind])
        if self.metric_families is None:
            object.__setattr__(self, "metric_families", KIND_METRICS[self.kind])

    @property
    def usage(self) -> str:
        """How the name is written: ``mnist``, ``folder:PATH``."""
        return f"{self.name}:{self.argument}" if self.argument else self.name

    def short_name(self, argument: str) -> str:
        """The name a model card shows: ``mnist``, ``toy2d-ring8``, a path's last part."""
        if self.label is not None:
            return self.label(argument)
        if self.path_argument:
            return Path(argument.strip()).expanduser().name
        return f"{self.name}-{argument}" if self.argument else self.name


DATASETS: Registry[DatasetSpec] = Registry("dataset", choice=lambda name, spec: spec.usage)


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    """Add a dataset to the registry under its name (one line in the module that loads it)."""
    return DATASETS.register(spec.name, spec)


def resized_loader(load: Callable[[str, str | None], ImageData]) -> Loader:
    """A loader from ``load(split, data_dir)``, resizing to the options' size and channels."""
    return lambda split, options: resized(load(split, options.data_dir), options.image_size, options.channels)

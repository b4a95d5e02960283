"""Datasets by name: a name is looked up in the registered specs (spec.py), never compared with a dataset's name
here; each dataset module registers its own spec."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import Tensor

from ..errors import GenlabError
from .images import ImageData
from .spec import DATASETS, DatasetSpec, LoadOptions


def parse_dataset(name: str) -> tuple[DatasetSpec, str]:
    """A dataset name -> (its spec, the argument after its prefix; "" for a plain name)."""
    prefix, colon, argument = name.partition(":") if isinstance(name, str) else ("", "", "")
    spec = DATASETS.get(prefix) if prefix in DATASETS else None
    if spec is None or bool(colon) != bool(spec.argument):
        raise DATASETS.unknown(name)
    if not argument.strip() and spec.argument:
        what = "a path" if spec.path_argument else "an argument"
        raise GenlabError(f"{prefix}: needs {what}, e.g. --data {spec.usage}")
    return spec, argument


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of a dataset name (``mnist``, ``folder:PATH``, ...); one clear line for unknown names."""
    return parse_dataset(name)[0]


def load_dataset(
    name: str,
    split: str = "train",
    *,
    data_dir: str | None = None,
    image_size: int = 0,
    channels: int = 0,
    test_fraction: float = 0.05,
    seed: int = 0,
    stream: str = "auto",
    workers: int = 2,
) -> ImageData:
    """A dataset split by name, at ``image_size`` and ``channels`` (0: the data's own); data without a test
    split holds out ``test_fraction`` of its images, seeded by ``seed``; folders stream from a decoded cache
    on disk as ``stream`` says (auto | always | never), decoded by ``workers`` processes and read ahead by as
    many threads (docs/data.md)."""
    spec, argument = parse_dataset(name)
    options = LoadOptions(argument, data_dir, image_size, channels, test_fraction, seed, stream, workers)
    return spec.loader(split, options)


def domain_names(name: str) -> tuple[str, ...]:
    """The dataset names of both domains of two-domain data, else the name itself."""
    spec, argument = parse_dataset(name)
    return spec.domains(argument) if spec.domains is not None else (name,)


def has_domains(name: str) -> bool:
    """Whether a name is two-domain data (``unpaired:A,B``); False for names no spec knows."""
    prefix = name.partition(":")[0]
    return prefix in DATASETS and DATASETS.get(prefix).domains is not None


def default_extractor(name: str) -> str:
    """The feature network data is scored with when none is named: its spec's, or the one both of its domains
    share; "" when there is none offline."""
    found = {dataset_spec(domain).default_extractor for domain in domain_names(name)}
    return found.pop() if len(found) == 1 else ""


def point_modes(name: str) -> tuple[Tensor, float] | None:
    """(mode centres [M, 2], per-mode std) of point data with known modes; None for other data."""
    spec, argument = parse_dataset(name)
    return spec.point_modes(argument) if spec.point_modes is not None else None


def point_centers(name: str) -> Tensor | None:
    """Mode centres of point data (for scatter plots); None for other data and names no spec knows."""
    if not isinstance(name, str) or name.partition(":")[0] not in DATASETS:
        return None
    modes = point_modes(name)
    return None if modes is None else modes[0]


def short_names(name: str) -> list[str]:
    """The data as model cards name it: ``mnist``, ``toy2d-ring8``, a path's last part; both domains of
    two-domain data (a domain folder that is gone since, no dataset name, by its last part too)."""
    return [short_name(domain) for domain in domain_names(name)]


def short_name(name: str) -> str:
    """One dataset's name on a model card (see ``short_names``)."""
    if name.partition(":")[0] not in DATASETS:
        return Path(name.strip()).name or name
    spec, argument = parse_dataset(name)
    return spec.short_name(argument)


def canonical_name(name: str) -> str:
    """A dataset name for comparison: a path argument resolved."""
    spec, argument = parse_dataset(name)
    return f"{spec.name}:{Path(argument).expanduser().resolve()}" if spec.path_argument else name


def usages(where: Callable[[DatasetSpec], bool]) -> str:
    """The usages of the datasets a test picks, for messages: ``toy2d:ring8|grid25 or stackedmnist``."""
    return " or ".join(spec.usage for _, spec in DATASETS.items() if where(spec)) or "none registered"

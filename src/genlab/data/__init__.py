"""Datasets chosen by name (``mnist``, ``mnistm``, ``synthdigits``, ``stackedmnist``, ``folder:PATH``, ``npz:PATH``,
``toy2d:ring8|grid25``, ``unpaired:A,B``), held in memory as uint8 tensors and batched on the device; folders are
decoded once into a cache on disk and streamed from it when they do not fit in memory (docs/data.md).

Each dataset module registers its ``DatasetSpec`` (spec.py) in one line, and importing this package imports every
module in it, so adding a dataset means adding one file (see docs/extending.md, "Adding a dataset").
"""

from ..registry import import_modules
from .catalog import (
    canonical_name,
    dataset_spec,
    default_extractor,
    domain_names,
    has_domains,
    load_dataset,
    parse_dataset,
    point_centers,
    point_modes,
    short_names,
    usages,
)
from .folder import DEFAULT_FOLDER_SIZE
from .images import ImageData, batches, check_binarize, resized, to_float, to_gray, to_uint8
from .spec import DATASETS, DatasetSpec, LoadOptions, register_dataset
from .splits import TEST_BINARIZATION_SEED, load_split, load_splits, resolve_binarize
from .streaming import STREAM_MODES
from .toy2d import mixture
from .unpaired import domain_source, load_domains, split_domains

import_modules(__name__, __path__)

__all__ = [
    "DATASETS",
    "DEFAULT_FOLDER_SIZE",
    "STREAM_MODES",
    "TEST_BINARIZATION_SEED",
    "DatasetSpec",
    "ImageData",
    "LoadOptions",
    "batches",
    "canonical_name",
    "check_binarize",
    "dataset_spec",
    "default_extractor",
    "domain_names",
    "domain_source",
    "has_domains",
    "load_dataset",
    "load_domains",
    "load_split",
    "load_splits",
    "mixture",
    "parse_dataset",
    "point_centers",
    "point_modes",
    "register_dataset",
    "resized",
    "resolve_binarize",
    "short_names",
    "split_domains",
    "to_float",
    "to_gray",
    "to_uint8",
    "usages",
]

"""Datasets chosen by name (``mnist``, ``mnistm``, ``synthdigits``, ``folder:PATH``, ``npz:PATH``,
``toy2d:ring8|grid25``, ``unpaired:A,B``), held in memory as uint8 tensors and batched on the device."""
from .catalog import DEFAULT_FOLDER_SIZE, DIGIT_DATASETS, load_dataset, load_domains, load_unpaired
from .images import ImageData, batches, check_binarize, resized, to_float, to_gray, to_uint8
from .splits import TEST_BINARIZATION_SEED, load_split, load_splits, resolve_binarize
from .toy2d import mixture, point_centers
from .unpaired import domain_source, split_domains

__all__ = ["DEFAULT_FOLDER_SIZE", "DIGIT_DATASETS", "TEST_BINARIZATION_SEED", "ImageData", "batches", "check_binarize",
           "domain_source", "load_dataset", "load_domains", "load_split", "load_splits", "load_unpaired", "mixture",
           "point_centers", "resized", "resolve_binarize", "split_domains", "to_float", "to_gray", "to_uint8"]

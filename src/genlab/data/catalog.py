"""Datasets chosen by name: ``mnist``, ``mnistm``, ``synthdigits``, ``stackedmnist``, ``folder:PATH``,
``npz:PATH``, ``toy2d:ring8|grid25`` and ``unpaired:A,B`` (two of the others, see unpaired.py)."""
from __future__ import annotations

import torch

from ..errors import GenlabError
from .arrays import read_arrays, split_of, stored_splits
from .folder import load_folder, native_size
from .images import ImageData, resized
from .mnist import load_mnist
from .mnistm import load_mnistm
from .stackedmnist import load_stackedmnist
from .synthdigits import load_synthdigits
from .toy2d import load_toy2d
from .unpaired import combine_domains, domain_source, split_domains

DEFAULT_FOLDER_SIZE = 64
# 28x28 digit datasets with MNIST's splits: name -> loader(split, data_dir)
DIGIT_DATASETS = {"mnist": load_mnist, "mnistm": load_mnistm, "synthdigits": load_synthdigits,
                  "stackedmnist": load_stackedmnist}


def load_dataset(name: str, split: str = "train", *, data_dir: str | None = None, image_size: int = 0,
                 channels: int = 0, test_fraction: float = 0.05, seed: int = 0) -> ImageData:
    """A dataset split by name: ``mnist``, ``mnistm``, ``synthdigits``, ``stackedmnist`` (three digits as RGB,
    1,000 modes), ``folder:PATH`` (train/test held out
    by ``test_fraction``), ``npz:PATH`` (its stored splits; see arrays.py), ``toy2d:...`` or ``unpaired:A,B``."""
    if name in DIGIT_DATASETS:
        return resized(DIGIT_DATASETS[name](split, data_dir), image_size, channels)
    if name.startswith("toy2d:"):
        return load_toy2d(name.split(":", 1)[1], split)
    if name.startswith("folder:"):
        if not name.split(":", 1)[1].strip():
            raise GenlabError("folder: needs a path, e.g. --data folder:~/photos")
        path = name.split(":", 1)[1]
        data = load_folder(path, image_size or native_size(path, DEFAULT_FOLDER_SIZE), channels)
        return _split_folder(data, split, test_fraction, seed)
    if name.startswith("npz:"):
        return resized(_load_npz(name.split(":", 1)[1], split, test_fraction, seed), image_size, channels)
    if name.startswith("unpaired:"):  # two domains as one dataset, labels 0 = A, 1 = B (see unpaired.py)
        return load_unpaired(name.split(":", 1)[1], split, data_dir=data_dir, image_size=image_size,
                             channels=channels, test_fraction=test_fraction, seed=seed)
    raise GenlabError(f"unknown dataset {name!r}; use mnist, mnistm, synthdigits, stackedmnist, folder:PATH, npz:PATH, "
                      "toy2d:ring8, toy2d:grid25 or unpaired:A,B")


def _load_npz(path: str, split: str, fraction: float, seed: int) -> ImageData:
    """A stored split; a file with a training set only holds out a test split like a folder."""
    arrays = read_arrays(path)
    if split in ("train", "test") and "test" not in stored_splits(arrays):
        return _split_folder(split_of(arrays, "train", path), split, fraction, seed)
    return split_of(arrays, split, path)


def _split_folder(data: ImageData, split: str, fraction: float, seed: int) -> ImageData:
    """A seeded hold-out split of a folder; folders have no official test set."""
    if split not in ("train", "test"):
        raise GenlabError(f"folder datasets have splits train and test, not {split!r}")
    n_test = int(round(len(data) * fraction)) if len(data) > 1 else 0
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    test_idx, train_idx = order[:n_test], order[n_test:]
    return data.take(test_idx if split == "test" else train_idx)


def load_domains(spec: str, split: str = "train", *, image_size: int = 0, channels: int = 0, seed: int = 0,
                 **options) -> tuple[ImageData, ImageData]:
    """The two domains of ``spec`` ("A,B"), each with its own class labels, at ``image_size`` / ``channels``
    (0 = the larger of the two domains'); ``options`` go to ``load_dataset`` for each domain."""
    a, b = (load_dataset(domain_source(part), split, image_size=image_size, channels=channels, seed=seed,
                         **options) for part in split_domains(spec))
    if a.is_points or b.is_points:
        raise GenlabError("unpaired data needs two image datasets, not point data")
    size = image_size or max(a.image_size, b.image_size)
    channels = channels or max(a.channels, b.channels)
    return resized(a, size, channels), resized(b, size, channels)


def load_unpaired(spec: str, split: str = "train", *, seed: int = 0, **options) -> ImageData:
    """Both domains of ``spec`` ("A,B") as one dataset labelled by domain (see ``load_domains``)."""
    return combine_domains(*load_domains(spec, split, seed=seed, **options), seed, f"unpaired:{spec}")

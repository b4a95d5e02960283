"""Labelled images in one .npz file: ``npz:PATH`` (``genlab adapt`` writes its translated set this way).

Format: ``<split>_images`` uint8 [N, C, H, W] (or [N, H, W] for gray), ``<split>_labels`` integers [N]
for each stored split (``train``, ``test``, ...), and optionally ``classes``, the class names (strings).
Write one with ``save_arrays``, ``stream_arrays`` (batch by batch) or plain ``numpy.savez``. Nothing is
unpickled. A file that stores only ``train`` serves ``train`` and ``test`` as a seeded hold-out, like an image
folder.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..errors import GenlabError
from ..files import save_npz_atomic, write_npz_streamed
from .folder import hold_out
from .images import ImageData, resized
from .spec import DatasetSpec, LoadOptions, register_dataset

CLASSES = "classes"
NPZ = "npz"  # the prefix of the dataset names that read .npz files


def stored_splits(arrays: dict[str, np.ndarray]) -> list[str]:
    """The splits a file holds: every ``<split>_images`` with its ``<split>_labels``."""
    return sorted(
        k[: -len("_images")] for k in arrays if k.endswith("_images") and f"{k[: -len('_images')]}_labels" in arrays
    )


def read_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file; one clear line when it is missing or not a readable .npz."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise GenlabError(f"array file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {name: f[name] for name in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise GenlabError(f"cannot read {path} as an .npz file of images ({type(err).__name__})") from None


def split_of(arrays: dict[str, np.ndarray], split: str, path: str | Path) -> ImageData:
    """One stored split of an .npz file's arrays as ImageData (checked: uint8 images, one label each)."""
    splits = stored_splits(arrays)
    if split not in splits:
        raise GenlabError(
            f"{path} has no {split!r} split (it stores: {', '.join(splits) or 'nothing'}; "
            "expected arrays <split>_images and <split>_labels)"
        )
    images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
    if images.ndim == 3:
        images = images[:, None]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
        raise GenlabError(
            f"{path}: {split}_images must be uint8 [N, 1 or 3, H, W], got {images.dtype} {list(images.shape)}"
        )
    if labels.shape != (len(images),) or (labels.size and (labels.dtype.kind not in "iu" or labels.min() < 0)):
        raise GenlabError(f"{path}: {split}_labels must be {len(images)} non-negative integers")
    top = int(labels.max()) + 1 if labels.size else 0
    names = [str(c) for c in arrays[CLASSES].tolist()] if CLASSES in arrays else [str(i) for i in range(top)]
    if len(names) < top:
        raise GenlabError(f"{path}: labels go up to {top - 1} but only {len(names)} classes are named")
    return ImageData(
        torch.from_numpy(np.ascontiguousarray(images)),
        torch.from_numpy(labels.astype(np.int64)),
        names,
        f"{NPZ}:{path}",
    )


def npz_path(path: str | Path) -> Path:
    """``path`` as a Path, checked to name an .npz file."""
    path = Path(path)
    if path.suffix != ".npz":
        raise GenlabError(f"{path} must end in .npz")
    return path


def npz_dataset(path: str | Path) -> str:
    """The dataset name that reads the .npz file at ``path``: ``npz:PATH``."""
    return f"{NPZ}:{npz_path(path)}"


def save_arrays(path: str | Path, splits: dict[str, ImageData], classes: list[str]) -> Path:
    """Write ``{split: data}`` as an uncompressed .npz (written beside, then renamed into place)."""
    path = npz_path(path)
    arrays: dict[str, np.ndarray] = {CLASSES: np.array(classes, dtype=str)}
    for split, data in splits.items():
        arrays[f"{split}_images"] = data.images.cpu().numpy().astype(np.uint8, copy=False)
        arrays[f"{split}_labels"] = data.labels.cpu().numpy().astype(np.int64, copy=False)
    return save_npz_atomic(path, arrays)


def stream_arrays(
    path: str | Path,
    n: int,
    images: Iterable[Tensor],
    labels: Iterable[Tensor],
    classes: list[str],
    extra: dict[str, np.ndarray] | None = None,
) -> Path:
    """Write n images as the ``train`` split of an .npz, batch by batch as ``images`` (uint8 [B, C, H, W])
    and ``labels`` yield them (the labels after the images), so the set is never whole in memory (swapped in
    atomically when complete); ``extra`` arrays are stored after them."""
    return write_npz_streamed(
        npz_path(path),
        {
            CLASSES: (len(classes), [np.array(classes, dtype=str)]),
            "train_images": (n, (x.cpu().numpy().astype(np.uint8, copy=False) for x in images)),
            "train_labels": (n, (y.cpu().numpy().astype(np.int64, copy=False) for y in labels)),
            **{name: (len(array), [array]) for name, array in (extra or {}).items()},
        },
    )


def load_npz(split: str, options: LoadOptions) -> ImageData:
    """``npz:PATH``: a stored split; a file with a training set only holds out a test split like a folder."""
    arrays = read_arrays(options.argument)
    if split in ("train", "test") and "test" not in stored_splits(arrays):
        data = hold_out(split_of(arrays, "train", options.argument), split, options.test_fraction, options.seed)
    else:
        data = split_of(arrays, split, options.argument)
    return resized(data, options.image_size, options.channels)


register_dataset(
    DatasetSpec(
        NPZ,
        load_npz,
        ("train", "test"),
        "images",
        argument="PATH",
        path_argument=True,
        label=lambda path: Path(path.strip()).expanduser().stem,
    )
)

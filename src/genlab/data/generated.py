"""Datasets generated offline with a seed, cached as uint8 .npz files keyed by everything they depend on."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..files import cache_dir, save_cache

KEY_ENTRY = "cache_key"  # stored in every file: a file only counts as a hit when it carries its own key


def derived_seed(*parts: Any) -> int:
    """A 60-bit seed from names and numbers (independent streams per dataset, split and seed)."""
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:15], 16)


def array_sha256(array: np.ndarray) -> str:
    """The sha256 of an array's bytes (a cache key part for the data a dataset is generated from)."""
    return hashlib.sha256(np.ascontiguousarray(array).data).hexdigest()


def cache_path(stem: str, key: dict) -> tuple[Path, str]:
    """The cache file for ``key`` (a JSON-able dict) and the key's sha256."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return cache_dir() / f"{stem}-{digest[:16]}.npz", digest


def cached_arrays(
    stem: str, key: dict, build: Callable[[], dict[str, np.ndarray]], expect: dict[str, tuple[int, ...]]
) -> dict[str, np.ndarray]:
    """The arrays cached under ``key``; built (and saved) when missing, unreadable or not of the expected
    shapes -- a damaged file is rebuilt, never trusted."""
    path, digest = cache_path(stem, key)
    arrays = _read(path, digest, expect)
    if arrays is None:
        arrays = build()
        save_cache(path, {**arrays, KEY_ENTRY: np.array(digest)})
    return arrays


def _read(path: Path, digest: str, expect: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray] | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:  # zip CRCs catch flipped bytes, np.load truncation
            arrays = {name: f[name] for name in f.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        print(f"genlab: cache file {path} is damaged ({type(err).__name__}); regenerating", file=sys.stderr)
        return None
    if str(arrays.pop(KEY_ENTRY, "")) != digest or any(
        name not in arrays or arrays[name].shape != shape for name, shape in expect.items()
    ):
        print(f"genlab: cache file {path} does not match its key; regenerating", file=sys.stderr)
        return None
    return arrays

"""A folder's images decoded once into a uint8 cache on disk, which the data is then read from (in memory or
streamed; docs/data.md, "Streaming").

Where: FOLDER/.genlab-cache/, else -- when the folder is not writable or its drive is full --
$GENLAB_CACHE/folders/HASH/ (default ~/.cache/genlab; HASH of the folder's resolved path). What, for a KEY of
``{size}px-{channels}c-{fingerprint}``:

- ``KEY.u8``: every readable image as raw uint8 [N, C, size, size] rows, in file order;
- ``KEY.json``: its shape, labels, classes and skipped files, written last: images without it are not trusted;
- ``KEY.split-SEED-NTEST-SPLIT.u8``: a hold-out split's images in the split's order, written when it is streamed;
- ``KEY.lock``: held by the one process that writes (others wait, then read what it wrote).

The fingerprint hashes the relative path, byte size and mtime_ns of every image file, so a changed, added or
removed file makes a new key: the cache is decoded again and the old key's files are deleted. Every file is
written under a temporary name and renamed when whole, so a build that is killed is never trusted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..devices import check_disk
from ..errors import GenlabError
from ..files import cache_dir, read_json, write_json_atomic
from .images import to_gray
from .streaming import Mapped, as_is, write_rows

try:
    import fcntl
except ImportError:  # no advisory locks on this platform (Windows): concurrent builds then both write
    fcntl = None

CACHE_FOLDER = ".genlab-cache"  # beside the images, skipped when the folder is read
CACHE_VERSION = 1  # of the decoding and the layout: a new one decodes every folder again
DECODE_CHUNK = 64  # files decoded per task of a worker process

Decode = Callable[[Path, int], tuple[np.ndarray, bool]]  # (file, size) -> (uint8 [size, size, 3], has color)


class NoCacheLocation(GenlabError):
    """Neither cache location can take a folder's cache (not writable, or too little disk)."""


@dataclass(frozen=True)
class Cached:
    """A finished cache: its images file and what its JSON records."""

    place: Path
    key: str
    shape: tuple[int, ...]  # [N, C, size, size]
    labels: list[int]
    classes: list[str]
    skipped: list[tuple[str, str]]  # (path relative to the folder, why) of each unreadable file

    @property
    def images(self) -> Mapped:
        return Mapped(self.place / f"{self.key}.u8", self.shape)


def cache_places(root: Path) -> list[Path]:
    """Where a folder's cache may live, in order of preference."""
    resolved = str(root.expanduser().resolve())
    fallback = cache_dir().expanduser().absolute() / "folders" / hashlib.sha256(resolved.encode()).hexdigest()[:16]
    return [root.expanduser().absolute() / CACHE_FOLDER, fallback]


def fingerprint(root: Path, files: list[Path]) -> str:
    """A sha256 of each file's relative path, byte size and mtime_ns (and the cache version)."""
    digest = hashlib.sha256(json.dumps([CACHE_VERSION]).encode())
    for f in files:
        try:
            stat = f.stat()
            seen = [stat.st_size, stat.st_mtime_ns]
        except OSError:  # gone since it was listed: it is skipped as unreadable
            seen = [-1, -1]
        digest.update(json.dumps([f.relative_to(root).as_posix(), *seen]).encode())
    return digest.hexdigest()[:24]


def cache_key(size: int, channels: int, fingerprint: str) -> str:
    return f"{size}px-{channels or 'auto'}c-{fingerprint}"


def folder_cache(
    root: Path,
    files: list[Path],
    labels: list[int],
    classes: list[str],
    size: int,
    channels: int,
    workers: int,
    decode: Decode,
) -> Cached:
    """The finished cache of ``files`` (with each file's label) at ``size`` and ``channels`` (0: gray when every
    image is): found, else decoded by ``workers`` processes and written; NoCacheLocation when none can be."""
    channels = 1 if channels == 1 else 3 if channels else 0  # as load_folder: any other count is RGB
    files_hash = fingerprint(root, files)
    key = cache_key(size, channels, files_hash)
    found = _find(root, key, cache_key(size, 0, files_hash), channels)
    if found is not None:
        return found
    place = writable_place(root, len(files) * size**2 * (channels or 4))  # RGB and luma while undecided
    with build_lock(place / f"{key}.lock", root):
        found = read_cache(place, key)  # another process may have built it meanwhile
        if found is None:
            for leftover in place.glob(f"{key}*.tmp"):  # of a build that was killed
                leftover.unlink(missing_ok=True)
            found = _build(place, key, root, files, labels, classes, size, channels, workers, decode)
    remove_stale(place, key)
    return found


def _find(root: Path, key: str, auto_key: str, channels: int) -> Cached | None:
    """A finished cache of ``key``, or of the same files with their channels decided by the images (``auto_key``)
    when that gave ``channels``."""
    for place in cache_places(root):
        found = read_cache(place, key)
        auto = read_cache(place, auto_key) if channels and found is None else None
        if found is not None or (auto is not None and auto.shape[1] == channels):
            return found or auto
    return None


def read_cache(place: Path, key: str) -> Cached | None:
    """The cache ``key`` in ``place`` when it is finished and whole, else None."""
    try:
        meta = read_json(place / f"{key}.json")
        shape = tuple(int(n) for n in meta["shape"])
        cached = Cached(
            place,
            key,
            shape,
            [int(y) for y in meta["labels"]],
            [str(c) for c in meta["classes"]],
            [(str(f), str(why)) for f, why in meta["skipped"]],
        )
        whole = (place / f"{key}.u8").stat().st_size == math.prod(shape) and len(cached.labels) == shape[0]
        return cached if meta["version"] == CACHE_VERSION and meta["key"] == key and whole else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def writable_place(root: Path, nbytes: int) -> Path:
    """The first cache location that can be written and has ``nbytes`` of disk free (devices.check_disk)."""
    problems = []
    for place in cache_places(root):
        try:
            place.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=place):
                pass
            check_disk(nbytes, place, "the cache")
            return place
        except OSError as e:
            problems.append(f"{place} is not writable ({e.strerror or type(e).__name__})")
        except GenlabError as e:
            problems.append(str(e))
    raise NoCacheLocation(
        f"cannot cache the decoded images of {root}: {'; '.join(problems)}; "
        "set GENLAB_CACHE to a writable folder with room, or data.stream=never"
    )


@contextlib.contextmanager
def build_lock(path: Path, root: Path) -> Iterator[None]:
    """Held while one process writes a folder's cache; a second waits (saying so) and then finds it written."""
    with open(path, "a+b") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                print(f"genlab: waiting for another process caching the images of {root}", file=sys.stderr)
                fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def remove_stale(place: Path, key: str) -> None:
    """Delete the files of older fingerprints of the same size and channels (best effort)."""
    prefix = key.rsplit("-", 1)[0] + "-"
    for f in place.iterdir():
        if f.name.startswith(prefix) and not f.name.startswith(key + "."):
            with contextlib.suppress(OSError):
                f.unlink()


class _Decoding(Dataset):
    """Task i: decode files [i * chunk, (i + 1) * chunk) -> (indices decoded, uint8 [k, 3, S, S], colors, bad)."""

    def __init__(self, files: list[Path], size: int, decode: Decode, chunk: int):
        self.files, self.size, self.decode, self.chunk = files, size, decode, chunk

    def __len__(self) -> int:
        return math.ceil(len(self.files) / self.chunk)

    def __getitem__(self, task: int) -> tuple[list[int], np.ndarray, list[bool], list[tuple[int, str]]]:
        kept, arrays, colors, bad = [], [], [], []
        for i in range(task * self.chunk, min(len(self.files), (task + 1) * self.chunk)):
            try:
                array, color = self.decode(self.files[i], self.size)
            except Exception as e:
                bad.append((i, type(e).__name__))
                continue
            kept.append(i)
            arrays.append(array)
            colors.append(color)
        stacked = np.stack(arrays) if arrays else np.zeros((0, self.size, self.size, 3), np.uint8)
        return kept, np.ascontiguousarray(stacked.transpose(0, 3, 1, 2)), colors, bad


def _decoded(files: list[Path], size: int, workers: int, decode: Decode) -> Iterator[tuple]:
    """The decoding tasks' results in file order, from ``workers`` processes (0, or a single task: here)."""
    tasks = _Decoding(files, size, decode, DECODE_CHUNK)
    workers = min(workers, len(tasks)) if len(tasks) > 1 else 0
    try:
        loader = DataLoader(tasks, batch_size=None, num_workers=workers, collate_fn=as_is, generator=torch.Generator())
        yield from loader  # (its own generator: the global one is left alone)
    except RuntimeError as e:  # a worker process died (killed, out of memory)
        if workers == 0:
            raise
        line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GenlabError(f"decoding images with data.workers={workers} failed ({line}); try data.workers=0") from None


def _build(
    place: Path,
    key: str,
    root: Path,
    files: list[Path],
    labels: list[int],
    classes: list[str],
    size: int,
    channels: int,
    workers: int,
    decode: Decode,
) -> Cached:
    """Decode every file in order into ``KEY.u8``, then write ``KEY.json``."""
    print(f"genlab: decoding {len(files)} images of {root} into {place} (once)", file=sys.stderr)
    try:
        kept, bad, channels = _decode_into(place / f"{key}.u8", root, files, size, channels, workers, decode)
    except OSError as e:  # e.g. the disk filled up
        raise GenlabError(f"cannot write the decoded images of {root} into {place}: {e.strerror or e}") from None
    cached = Cached(
        place,
        key,
        (len(kept), channels, size, size),
        [labels[i] for i in kept],
        classes,
        [(files[i].relative_to(root).as_posix(), why) for i, why in bad],
    )
    meta = {"version": CACHE_VERSION, "key": key, "folder": str(root), "shape": list(cached.shape)}
    meta |= {"labels": cached.labels, "classes": classes, "skipped": [list(s) for s in cached.skipped]}
    write_json_atomic(place / f"{key}.json", meta)
    return cached


def _decode_into(
    path: Path, root: Path, files: list[Path], size: int, channels: int, workers: int, decode: Decode
) -> tuple[list[int], list[tuple[int, str]], int]:
    """Every readable file decoded, in order, into the raw file ``path`` -- RGB and luma both while the channels
    are undecided (0), the one that is kept renamed to ``path`` once whole and flushed -- and (indices
    decoded, (index, why) of the unreadable, the channels)."""
    kept: list[int] = []
    bad: list[tuple[int, str]] = []
    color = False
    temporary = {
        c: path.with_name(f"{path.name}.c{c}.{os.getpid()}.tmp") for c in ((channels,) if channels else (3, 1))
    }
    try:
        with ExitStack() as stack:
            outs = {c: stack.enter_context(open(tmp, "wb")) for c, tmp in temporary.items()}
            for decoded, rgb, colors, failed in _decoded(files, size, workers, decode):
                kept += decoded
                bad += failed
                color = color or any(colors)
                for c, out in outs.items():
                    out.write((rgb if c == 3 else to_gray(torch.from_numpy(rgb)).numpy()).tobytes())
            if not kept:
                raise GenlabError(f"no readable images in {root} ({len(files)} candidate files, {len(bad)} unreadable)")
            channels = channels or (3 if color else 1)
            outs[channels].flush()
            os.fsync(outs[channels].fileno())
        os.replace(temporary[channels], path)
    finally:
        for tmp in temporary.values():
            tmp.unlink(missing_ok=True)
    return kept, bad, channels


def split_images(root: Path, cached: Cached, name: str, index: torch.Tensor) -> Mapped:
    """The images ``index`` picks from a cache, in that order, as a file of their own beside it (found, else
    written): a split that is streamed never reads the whole folder into memory."""
    mapped = Mapped(cached.place / f"{cached.key}.{name}.u8", (len(index), *cached.shape[1:]))
    nbytes = math.prod(mapped.shape)
    for place in dict.fromkeys([cached.place, *cache_places(root)]):
        found = place / mapped.path.name
        if found.is_file() and found.stat().st_size == nbytes:
            return Mapped(found, mapped.shape)
    place = writable_place(root, nbytes)
    path = place / mapped.path.name
    with build_lock(place / f"{cached.key}.lock", root):
        if not (path.is_file() and path.stat().st_size == nbytes):
            source = np.memmap(cached.images.path, dtype=np.uint8, mode="r", shape=cached.shape)
            write_rows(path, source, index.numpy())
    return Mapped(path, mapped.shape)

"""Images streamed from disk: a raw file of uint8 [N, C, H, W] rows mapped into memory and read a batch at a time
-- in order, by reader threads ahead of use when asked -- so data larger than the memory trains like any other
(docs/data.md, "Streaming")."""

from __future__ import annotations

import contextlib
import math
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from torch import Tensor

from ..errors import GenlabError

STREAM_MODES = ("auto", "always", "never")
CHUNK_BYTES = 64 << 20  # rows gathered per write of a split file


@dataclass(frozen=True)
class Mapped:
    """Where streamed images come from -- a raw uint8 file of ``shape`` rows -- and the device their batches go to."""

    path: Path
    shape: tuple[int, ...]
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))


def check_stream(mode: str, workers: int) -> None:
    """One clear line for a data.stream or data.workers the loaders cannot follow."""
    if mode not in STREAM_MODES:
        raise GenlabError(f"data.stream must be one of {', '.join(STREAM_MODES)}, got {mode!r}")
    if not isinstance(workers, int) or workers < 0:
        raise GenlabError(f"data.workers must be 0 (decode in this process) or more, got {workers!r}")


def map_images(mapped: Mapped) -> Tensor:
    """The rows of a raw uint8 file as a tensor backed by the file (a copy-on-write mapping: pages are read as
    they are used, and the file is never written)."""
    if math.prod(mapped.shape) == 0:  # nothing to map
        return torch.empty(mapped.shape, dtype=torch.uint8)
    return torch.from_numpy(np.memmap(mapped.path, dtype=np.uint8, mode="c", shape=mapped.shape))


def gather(array: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``array[index]``, its rows read in ascending order (kinder to a disk) and returned in ``index``'s order."""
    order = np.argsort(index, kind="stable")
    out = np.empty((len(index), *array.shape[1:]), array.dtype)
    out[order] = array[index[order]]
    return out


def read_rows(mapped: Mapped, images: Tensor, spans: Sequence[Tensor], workers: int) -> Iterator[Tensor]:
    """The uint8 images of each span of row indices, in order: read here (``workers`` 0), else by that many
    threads up to ``2 * workers`` batches ahead of use (into pinned memory when the batches go to a GPU)."""
    if workers == 0 or len(spans) < 2:
        return (images[span] for span in spans)
    array, pin = images.numpy(), mapped.device.type == "cuda"

    def read(span: Tensor) -> Tensor:
        rows = torch.from_numpy(gather(array, span.numpy()))
        return rows.pin_memory() if pin else rows

    return _ahead(read, spans, workers)


def _ahead(read: Callable[[Tensor], Tensor], spans: Sequence[Tensor], workers: int) -> Iterator[Tensor]:
    """``read`` of each span in order, run by ``workers`` threads ahead of use (reads of a mapped file wait on
    the disk, not on the interpreter: numpy copies without holding it)."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix="genlab-stream")
    pending: deque[Future[Tensor]] = deque()
    try:
        for span in spans:
            pending.append(pool.submit(read, span))
            if len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def as_is(item: Any) -> Any:
    """A DataLoader's collate that leaves each item as its dataset made it."""
    return item


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A binary file written under a temporary name beside ``path`` and renamed to it only once whole and flushed
    to disk: a writer that is killed leaves no file that could pass for a finished one."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_rows(path: Path, source: np.ndarray, index: np.ndarray) -> None:
    """``source[index]`` as a raw file at ``path``, gathered a chunk at a time (never whole in memory)."""
    rows = max(1, CHUNK_BYTES // max(1, math.prod(source.shape[1:])))
    with atomic_file(path) as out:
        for begin in range(0, len(index), rows):
            out.write(gather(source, index[begin : begin + rows]).tobytes())

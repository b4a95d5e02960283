"""Files: content hashes, the cache folder, and writes that never leave a half-written file in place."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import GenlabError

try:
    import fcntl
except ImportError:  # no advisory locks on this platform (Windows): runs are then not locked
    fcntl = None


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def cache_dir() -> Path:
    """Where genlab caches derived data ($GENLAB_CACHE, default ~/.cache/genlab)."""
    return Path(os.environ.get("GENLAB_CACHE", Path.home() / ".cache" / "genlab"))


def temporary_sibling(path: Path) -> Path:
    """``name.tmp.ext`` beside ``path``: same folder (so the rename is atomic), same extension (numpy adds
    ``.npz`` to names that lack it)."""
    return path.with_name(f"{path.stem}.tmp{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Write to the yielded temporary path; it replaces ``path`` only when the block ends without an error,
    so readers see the old file or the new one, never a part of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


MAX_JSON_BYTES = 64 << 20  # no file genlab writes comes near this: a larger one is not genlab's


def parse_json(data: str | bytes, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """JSON text as Python values; ValueError (never RecursionError or MemoryError) for text that is invalid,
    larger than ``max_bytes`` or nested deeper than the interpreter's recursion limit."""
    if len(data) > max_bytes:
        raise ValueError(f"{len(data):,} bytes of JSON, more than the {max_bytes:,} genlab reads")
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def read_json(path: str | Path, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """A JSON file's value (``parse_json``); OSError when it cannot be read, ValueError when it is no JSON."""
    path = Path(path)
    if path.stat().st_size > max_bytes:
        raise ValueError(f"{path} has {path.stat().st_size:,} bytes, more than the {max_bytes:,} genlab reads")
    return parse_json(path.read_bytes(), max_bytes)


def json_record(line: str, max_bytes: int = 1 << 20) -> dict[str, Any] | None:
    """One line of a JSON-lines log as a record; None for a line that is torn, too long, too deep or no object."""
    try:
        record = parse_json(line, max_bytes)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """``data`` as indented JSON at ``path``, swapped in atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2))
    return Path(path)


def write_lines_atomic(path: str | Path, lines: list[str]) -> Path:
    """Replace a text file by ``lines`` (each ending in a newline) in one step: a crash leaves the old file or
    the new one, never a mix."""
    with atomic_path(path) as tmp:
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return Path(path)


def save_npz_atomic(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """An uncompressed .npz at ``path``, swapped in atomically."""
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)
    return Path(path)


def write_npz_streamed(path: str | Path, arrays: dict[str, tuple[int, Iterable[np.ndarray]]]) -> Path:
    """An uncompressed .npz (as ``np.savez`` writes it) from ``{name: (rows, chunks)}``: each array is written
    chunk by chunk along its first axis as the chunks come, so no array is ever whole in memory; the chunks
    must add up to ``rows`` rows of one shape and dtype. Swapped in atomically."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
        for name, (rows, chunks) in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                written = _write_npy(member, rows, iter(chunks))
            if written != rows:
                raise ValueError(f"array {name}: {written} rows came for the {rows} declared")
    return Path(path)


def _write_npy(out: IO[bytes], rows: int, chunks: Iterator[np.ndarray]) -> int:
    """The .npy header for ``rows`` rows shaped like the first chunk, then every chunk; returns the rows."""
    first = next(chunks, None)
    if first is None:
        raise ValueError("an array needs at least one chunk (its shape and dtype come from the first)")
    first = np.asarray(first)
    header = {
        "descr": np.lib.format.dtype_to_descr(first.dtype),
        "fortran_order": False,
        "shape": (rows, *first.shape[1:]),
    }
    np.lib.format.write_array_header_1_0(out, header)
    written = 0
    for chunk in itertools.chain([first], chunks):
        chunk = np.ascontiguousarray(chunk, dtype=first.dtype)
        if chunk.shape[1:] != first.shape[1:]:
            raise ValueError(f"a chunk of shape {chunk.shape} among chunks of {first.shape[1:]}")
        out.write(chunk.tobytes())
        written += len(chunk)
    return written


def save_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Best-effort cache write: a read-only or full disk only costs speed next time."""
    with contextlib.suppress(OSError):
        save_npz_atomic(path, arrays)


def fsync_file(path: Path) -> None:
    """Flush one file to disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_files(folder: Path) -> None:
    """Flush every file directly in ``folder`` to disk."""
    for f in folder.iterdir():
        if f.is_file():
            fsync_file(f)


def fsync_dir(folder: Path) -> None:
    """Make renames inside ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def exclusive_lock(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the block; the operating system releases it when the process ends
    in any way, so a dead holder never blocks. One clear line when a live process holds it."""
    if fcntl is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise GenlabError(
                f"{what} is in use by another genlab process (pid {holder}); wait for it to finish or stop it"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield

"""Progress of long loops (scoring, sampling): a tqdm bar with its ETA in a terminal, a line at most every
30 s on a log file. Off unless a command turns it on, so library calls and evaluation during training stay
quiet."""

from __future__ import annotations

import contextlib
import contextvars
import math
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm  # a widget in a notebook, the text bar in a terminal

T = TypeVar("T")
LINE_INTERVAL_S = 30.0  # between progress lines when stderr is not a terminal
_SHOWN = contextvars.ContextVar("genlab_progress_shown", default=False)


@contextlib.contextmanager
def shown(enabled: bool = True) -> Iterator[None]:
    """Report the progress of the loops run inside this block (``genlab eval``, ``genlab sample``)."""
    token = _SHOWN.set(enabled)
    try:
        yield
    finally:
        _SHOWN.reset(token)


def tracked(items: Iterable[T], total: int, what: str) -> Iterator[T]:
    """Batches as they come, with their progress reported when it is shown (``total`` batches expected)."""
    if not _SHOWN.get():
        return iter(items)
    if live():
        return iter(tqdm(items, total=total, desc=what, unit="batch", leave=False, dynamic_ncols=True))
    return _lines(items, total, what)


def live() -> bool:
    """Whether progress can be drawn in place: a terminal on stderr, or a Jupyter notebook."""
    return sys.stderr.isatty() or in_notebook()


def in_notebook() -> bool:
    """Whether a Jupyter kernel runs this process: its IPython shell is the kernel's (ipykernel merely imported, by
    a test or a library, is not a notebook)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def batch_count(n: int, batch_size: int) -> int:
    """How many batches of ``batch_size`` hold ``n`` items."""
    return max(1, math.ceil(n / batch_size))


def _lines(items: Iterable[T], total: int, what: str) -> Iterator[T]:
    """A line 'what: done/total batches, M:SS left' at most every LINE_INTERVAL_S seconds."""
    started = last = time.monotonic()
    for done, item in enumerate(items, 1):
        yield item
        now = time.monotonic()
        if now - last >= LINE_INTERVAL_S and done < total:
            last = now
            left = (now - started) / done * (total - done)
            print(f"{what}: {done}/{total} batches, {tqdm.format_interval(left)} left", file=sys.stderr, flush=True)

"""Inference off the event loop: one worker thread, a bounded number of requests running or waiting."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

from .limits import Busy


def infer(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in inference mode (no autograd records, no version counters)."""
    with torch.inference_mode():
        return fn(*args)


class InferenceQueue:
    """Runs every inference call on one worker thread (one forward at a time: the models and matplotlib are not
    shared between threads); at most ``limit`` calls run or wait, the next one is refused with ``Busy``."""

    def __init__(self, limit: int):
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` on the worker thread, awaited without blocking the event loop."""
        if not self._slots.acquire(blocking=False):
            raise Busy(f"the studio is busy ({self.limit} requests running or waiting); try again in a moment")
        try:
            future = self._worker().submit(infer, fn, *args)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())  # also when the client went away
        return await asyncio.wrap_future(future)

    def _worker(self) -> ThreadPoolExecutor:
        """The executor, started on first use (again after ``close``)."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="genlab-studio")
            return self._executor

    def close(self) -> None:
        """Stop the worker thread; calls still waiting are cancelled."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

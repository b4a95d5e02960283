"""What the loop keeps track of besides the model: its position, stop signals, the metrics log, running means
and non-finite counts on the device, and random states."""

from __future__ import annotations

import json
import math
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..files import write_lines_atomic
from ..viz import read_metrics


@dataclass
class LoopState:
    """Where training stands; saved with every checkpoint."""

    step: int = 0  # steps taken, skipped ones included (the learning-rate schedule follows it)
    epoch: int = 0  # completed epochs
    batch: int = 0  # batches done in the current (incomplete) epoch
    nonfinite_total: int = 0  # steps skipped because a loss was not finite
    lr_scale: float = 1.0  # halved at each roll-back after divergence (train.on_diverge=rollback)
    rollbacks: int = 0


class StopFlag:
    """SIGINT/SIGTERM only set a flag; the loop checkpoints at the next step boundary."""

    def __init__(self) -> None:
        self.requested = False
        self.signum = signal.SIGTERM  # the signal that asked (SIGTERM when another replica's did)
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested, self.signum = True, signum

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class MetricsLog:
    """Append-only metrics.jsonl, one JSON object per line, flushed at once. A resumed run first cuts the log
    back to the records of the steps its checkpoint holds (``resume_step``): the steps after it are trained
    again and logged again, so the log equals an uninterrupted run's record for record."""

    def __init__(self, path: Path, resume_step: int | None = None):
        self.path, self.file = path, None
        if resume_step is None:
            self.file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - open for the whole run, closed by close()
        else:
            self.cut_back(resume_step)

    def cut_back(self, step: int) -> None:
        """Keep only the records of steps up to ``step`` (a resume, a roll-back) and append after them."""
        if self.file is not None:
            self.file.close()
        write_lines_atomic(self.path, [json.dumps(r) for r in records_up_to(self.path, step)])
        self.file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - as above

    def write(self, record: dict[str, Any]) -> None:
        """One record; a non-finite number is written as null (JSON has no NaN, and no NaN reaches the log)."""
        clean = {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in record.items()}
        self.file.write(json.dumps(clean) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def records_up_to(path: Path, step: int) -> list[dict[str, Any]]:
    """The records of ``path`` logged at or before ``step``; torn, unreadable or foreign lines are left out."""
    records = read_metrics(path) if path.is_file() else []
    return [r for r in records if isinstance(r.get("step"), int) and r["step"] <= step]


class NullLog:
    """The metrics log of a replica other than 0: writes nothing."""

    def write(self, record: dict[str, Any]) -> None:
        pass

    def cut_back(self, step: int) -> None:
        pass

    def close(self) -> None:
        pass


def step_values(scalars: dict[str, torch.Tensor], skipped: torch.Tensor) -> tuple[list[str], torch.Tensor]:
    """One step's logged scalars as one vector, then a 1 that counts the step; all zeros when the step was
    skipped, so its NaN never reaches a sum (three small device operations, whatever the number of scalars)."""
    vector = torch.stack([*(v.reshape(()) for v in scalars.values()), torch.ones((), device=skipped.device)])
    return list(scalars), torch.where(skipped, 0.0, vector)


class RunningMeans:
    """Sums of logged scalars over the steps that were applied, kept on the device as one vector whose last
    entry counts the steps; read out (one sync) only when logged."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.names: list[str] = []
        self.sums = torch.zeros(1, device=device)

    def add(self, names: list[str], vector: torch.Tensor) -> None:
        """Add one step's ``step_values``."""
        if names != self.names:
            vector = self._align(names, vector)
        self.sums = self.sums + vector

    def _align(self, names: list[str], vector: torch.Tensor) -> torch.Tensor:
        """A step vector laid out like the sums, which grow by the names not seen before (a model that logs
        other scalars in some steps; a mean is then over all steps, as for the others)."""
        for name in names:
            if name not in self.names:
                self.names.append(name)
                self.sums = torch.cat([self.sums[:-1], self.sums.new_zeros(1), self.sums[-1:]])
        full = self.sums.new_zeros(len(self.names) + 1)
        full[torch.tensor([self.names.index(n) for n in names] + [len(self.names)], device=full.device)] = vector
        return full

    def state(self, reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, Any]:
        """The sums so far (over every replica with ``reduce``), for a checkpoint: a resumed epoch's means then
        cover the steps before the interruption too."""
        sums = self.sums.float()
        return {"names": list(self.names), "sums": (reduce(sums) if reduce is not None else sums).cpu()}

    def load_state(self, state: dict[str, Any], keep: bool = True) -> None:
        """Sums from ``state()``; zeros of the same layout when ``keep`` is false (the replicas other than 0,
        whose shares the saved sums already hold)."""
        self.names = list(state["names"])
        sums = state["sums"].to(self.device)
        self.sums = sums if keep else torch.zeros_like(sums)

    def pop(self, reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, float]:
        """The means so far (none when every step was skipped), then start over; ``reduce`` sums the sums and
        counts over data-parallel replicas."""
        names, totals = self.names, self.sums.float()
        values = (reduce(totals) if reduce is not None else totals).tolist()  # the one read on the host
        self.names, self.sums = [], torch.zeros(1, device=self.device)
        return {k: v / values[-1] for k, v in zip(names, values)} if values[-1] else {}


class NonfiniteCounter:
    """Skipped steps in total and in a row, counted on the device; read only when logging."""

    def __init__(self, device: torch.device, total: int = 0):
        self.total = torch.tensor(total, device=device)
        self.in_a_row = torch.zeros((), dtype=torch.long, device=device)

    def add(self, skipped: torch.Tensor) -> None:
        s = skipped.long()
        self.total += s
        self.in_a_row = (self.in_a_row + s) * s


def rng_state(data_gen: torch.Generator) -> dict[str, Any]:
    """Every random state that affects training, as tensors (loadable with weights_only=True)."""
    state = {"torch": torch.get_rng_state(), "data": data_gen.get_state(), "device_type": data_gen.device.type}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], data_gen: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    if "data" in state:
        data_gen.set_state(state["data"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Callback:
    """Work around training, handed to the Trainer by ``train()``; the loop knows nothing else of it. Each hook
    gets the Trainer (genlab.training.loop), which calls them; ``trainer.state.step`` is the steps taken."""

    def on_step_end(self, trainer: Any) -> None:
        """After every optimizer step (keep it cheap: reading a device tensor here stalls a GPU every step)."""

    def on_step_logged(self, trainer: Any, record: dict[str, Any]) -> None:
        """A step record (the means since the last one, host numbers) is in metrics.jsonl."""

    def on_epoch_end(self, trainer: Any, record: dict[str, Any]) -> None:
        """Add fields (and ``record["warnings"]``) to the epoch's record before it is logged."""

    def on_epoch_logged(self, trainer: Any, record: dict[str, Any]) -> None:
        """The record is in metrics.jsonl (e.g. redraw the loss curve)."""

    def on_fit_end(self, trainer: Any) -> None:
        """Training stopped -- finished, interrupted, diverged or failed; the last checkpoint is on disk."""


def weights_finite(model: torch.nn.Module) -> bool:
    """Whether every floating-point weight and buffer is finite (one host synchronisation)."""
    tensors = [t for t in [*model.parameters(), *model.buffers()] if t.is_floating_point()]
    return not tensors or bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all())


def epoch_line(record: dict[str, Any], epochs: int) -> str:
    """The one line printed per epoch when stderr is not a terminal."""
    shown = {k: v for k, v in record.items() if k.endswith(("loss", "accuracy"))}
    return (
        f"epoch {record['epoch']}/{epochs} step {record['step']} "
        + " ".join(f"{k}={v:.4g}" for k, v in shown.items())
        + f" ({record['images_per_s']:.0f} img/s)"
    )

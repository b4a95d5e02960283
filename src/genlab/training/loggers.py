"""Loggers: where a run's records go besides metrics.jsonl, which is always written. Each is a Callback registered by
name; ``train.loggers=tensorboard,csv,wandb`` picks them (``train.tensorboard=true`` still adds TensorBoard). A logger
reads what it needs from metrics.jsonl or the hooks' records, so a resumed run's logs follow the cut-back log."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import GenlabError
from ..files import atomic_path
from ..registry import Registry
from ..viz import METRICS_FILE, RECORD_POSITION, by_step, is_finite_number, read_metrics
from .bookkeeping import Callback

LOGGERS = Registry("logger")


def logger_names(train: Any) -> list[str]:
    """The loggers a training config names (train.loggers, plus tensorboard for train.tensorboard=true)."""
    names = [n.strip() for n in train.loggers.split(",") if n.strip()]
    return list(dict.fromkeys([*names, *(["tensorboard"] if train.tensorboard else [])]))


def loggers_of(train: Any) -> list[Callback]:
    """A fresh logger of each name (one clear line for an unknown name or a missing extra)."""
    names = logger_names(train)
    unknown = [name for name in names if name not in LOGGERS]
    if unknown:
        raise GenlabError(f"train.loggers: unknown logger {unknown[0]!r}; choose from {', '.join(LOGGERS.names())}")
    return [LOGGERS.get(name)() for name in names]


TENSORBOARD_MISSING = "the tensorboard logger needs the tensorboard extra: pip install 'genlab[tensorboard]'"


def summary_writer_class() -> type:
    """torch's SummaryWriter, imported only when asked for; one line when the tensorboard package is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise GenlabError(TENSORBOARD_MISSING) from None
    return SummaryWriter


@LOGGERS.register("tensorboard")
class TensorBoard(Callback):
    """RUN/tensorboard/ (train.loggers=tensorboard, or train.tensorboard=true): every epoch record's numbers as
    ``epoch/...`` scalars, the step records since the previous epoch as ``step/...`` scalars at their steps, and
    the epoch's pictures. A resumed run appends to the same folder; ``purge_step`` hides what an earlier session
    logged past the resume point."""

    def __init__(self) -> None:
        self.writer_class = summary_writer_class()  # fails while the callbacks are built, before any training
        self.writer: Any = None
        self.written_to = 0  # the last step this session logged

    def on_epoch_logged(self, trainer: Any, record: dict[str, Any]) -> None:
        records = read_metrics(trainer.run_dir / METRICS_FILE)
        first = max(previous_epoch_step(records, record["epoch"]), self.written_to) + 1
        if self.writer is None:
            self.writer = self.writer_class(str(trainer.run_dir / "tensorboard"), purge_step=first)
        for step, values in by_step(records, "step", first, record["step"]).items():
            add_scalars(self.writer, "step", values, step)
        add_scalars(self.writer, "epoch", record, record["step"])
        for tag, picture in epoch_pictures(trainer.run_dir, record["epoch"]):
            self.writer.add_image(tag, picture, record["step"], dataformats="HWC")
        self.written_to = record["step"]
        self.writer.flush()
        if record["epoch"] >= trainer.tc.epochs or record["step"] >= trainer.total_steps:
            self.writer.close()
            self.writer = None


def previous_epoch_step(records: list[dict], epoch: int) -> int:
    """The step at which epoch ``epoch - 1`` ended (0 when it is not in the log)."""
    ends = [r.get("step") for r in records if r.get("kind") == "epoch" and r.get("epoch") == epoch - 1]
    return ends[-1] if ends and isinstance(ends[-1], int) else 0


def add_scalars(writer: Any, section: str, record: dict[str, Any], step: int) -> None:
    """A record's finite numbers as scalars named ``section/field``."""
    for field, value in record.items():
        if field not in RECORD_POSITION and is_finite_number(value):
            writer.add_scalar(f"{section}/{field}", value, step)


@LOGGERS.register("csv")
class CSVLog(Callback):
    """RUN/metrics.csv: every record of metrics.jsonl as a row, one column per field ever logged (rewritten from the
    log after every epoch, so it always matches it, a resumed run's included)."""

    def on_epoch_logged(self, trainer: Any, record: dict[str, Any]) -> None:
        write_csv(trainer.run_dir / METRICS_FILE, trainer.run_dir / "metrics.csv")


def write_csv(log: Path, path: Path) -> Path:
    """The records of ``log`` as a CSV table (kind, epoch, step first), written atomically."""
    records = read_metrics(log)
    fields = list(dict.fromkeys([*RECORD_POSITION, *(k for r in records for k in r if k != "warnings")]))
    text = io.StringIO()
    writer = csv.DictWriter(text, fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    with atomic_path(path) as tmp:
        tmp.write_text(text.getvalue(), encoding="utf-8")
    return path


WANDB_MISSING = "the wandb logger needs Weights & Biases: pip install wandb (genlab logs offline, nothing is uploaded)"


@LOGGERS.register("wandb")
class WandB(Callback):
    """Weights & Biases in offline mode (RUN/wandb; `wandb sync` uploads it later if you wish): the config, every
    step record at its step and every epoch record as ``epoch/...``; a resumed run continues the same wandb run."""

    def __init__(self) -> None:
        try:
            import wandb
        except ImportError:
            raise GenlabError(WANDB_MISSING) from None
        self.wandb, self.run = wandb, None

    def start(self, trainer: Any) -> None:
        trainer.run_dir.joinpath("wandb").mkdir(exist_ok=True)
        run_id = "genlab-" + trainer.run_dir.resolve().name  # stable: a resume continues the same run
        self.run = self.wandb.init(
            mode="offline",
            dir=str(trainer.run_dir),
            id=run_id,
            resume="allow",
            project="genlab",
            name=trainer.run_dir.name,
            config=trainer.config.to_dict(),
        )

    def on_step_logged(self, trainer: Any, record: dict[str, Any]) -> None:
        if self.run is None:
            self.start(trainer)
        self.run.log(numbers(record, "step"), step=record["step"])

    def on_epoch_logged(self, trainer: Any, record: dict[str, Any]) -> None:
        if self.run is None:
            self.start(trainer)
        self.run.log(numbers(record, "epoch"), step=record["step"])

    def on_fit_end(self, trainer: Any) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None


def numbers(record: dict[str, Any], section: str) -> dict[str, float]:
    """A record's finite numbers named ``section/field``."""
    return {f"{section}/{k}": v for k, v in record.items() if k not in RECORD_POSITION and is_finite_number(v)}


def epoch_pictures(run_dir: Path, epoch: int) -> list[tuple[str, np.ndarray]]:
    """(folder name, RGB array) of every picture EpochPictures wrote for ``epoch``."""
    name = picture_name(epoch)
    return [(folder.name, read_rgb(folder / name)) for folder in sorted(run_dir.iterdir()) if (folder / name).is_file()]


def read_rgb(path: Path) -> np.ndarray:
    """A picture file as an [H, W, 3] uint8 array."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def picture_name(epoch: int) -> str:
    """The file name of an epoch's pictures in each picture folder of a run (samples/, reconstructions/, ...)."""
    return f"epoch_{epoch:04d}.png"

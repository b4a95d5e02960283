"""What ``train()`` hands the loop for the end of each epoch: pictures, the loss curve, scheduled scores and
the loggers the config names (loggers.py). The model card is the app layer's (genlab.apps.report.cards),
handed to ``train()`` as an extra callback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..charts import loss_chart
from ..data import ImageData, batches, point_centers
from ..evaluation import METRICS, parse_metrics, score
from ..files import atomic_path
from ..models.capabilities import Model
from ..viz import (
    interleave_rows,
    run_records,
    save_grid,
    save_scatter,
)
from .loggers import loggers_of, picture_name
from .loop import Callback, Trainer

LOSS_CURVE = "loss_curve.svg"  # in the run folder: the losses against the step, redrawn after every epoch


class EpochPictures(Callback):
    """Per-epoch samples (fixed noise), reconstructions and the model's own pictures; the samples' warnings
    (e.g. mode collapse) go into the epoch's record."""

    def on_epoch_end(self, trainer: Trainer, record: dict[str, Any]) -> None:
        warnings = write_pictures(
            trainer.model,
            trainer.test_data,
            trainer.run_dir,
            picture_name(record["epoch"]),
            trainer.config,
            trainer.tc.seed,
        )
        record.setdefault("warnings", []).extend(warnings)


class LossCurve(Callback):
    """RUN/loss_curve.svg (genlab.charts.loss_chart) redrawn from metrics.jsonl after every epoch."""

    def on_epoch_logged(self, trainer: Trainer, record: dict[str, Any]) -> None:
        chart = loss_chart(run_records(trainer.run_dir), width=640, height=360, standalone=True)
        if chart:
            with atomic_path(trainer.run_dir / LOSS_CURVE) as tmp:
                tmp.write_text(chart, encoding="utf-8")


class ScheduledEvaluation(Callback):
    """genlab eval's metrics on a few thousand images every ``every`` epochs, as eval/<number> entries of the
    epoch record (train.eval_every, train.eval_metrics, train.eval_samples)."""

    def __init__(self, every: int, metrics: str, samples: int):
        self.every, self.metrics, self.samples = every, parse_metrics(metrics), samples

    def on_epoch_end(self, trainer: Trainer, record: dict[str, Any]) -> None:
        if record["epoch"] % self.every:
            return
        n, device = self.samples, trainer.device
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):  # keeps training's randomness
            results = score(trainer.model, trainer.config, self.metrics, k=100, images=n, samples=n, reference_images=n)
        record.update(
            {
                f"eval/{field}": results[m][field]
                for m in self.metrics
                for field in METRICS[m].headline
                if field in results[m]
            }
        )


def default_callbacks(config: Any) -> list[Callback]:
    """The per-epoch work of every run: pictures, the loss curve, and scheduled scores and loggers when the config
    asks for them."""
    callbacks: list[Callback] = [EpochPictures(), LossCurve()]
    if config.train.eval_every:
        callbacks.insert(
            0, ScheduledEvaluation(config.train.eval_every, config.train.eval_metrics, config.train.eval_samples)
        )
    return callbacks + loggers_of(config.train)


@torch.no_grad()
def write_pictures(model: Model, test_data: ImageData, run_dir: Path, name: str, config: Any, seed: int) -> list[str]:
    """Samples (a scatter plot for point data), reconstructions and the model's pictures under ``run_dir``;
    returns warnings about the samples."""
    grid_size = config.train.grid_size
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    real = next(batches(test_data.head(2500), 2500))[0] if len(test_data) else None
    samples, can_sample = None, model.supports("sample")  # classifiers cannot
    if can_sample and test_data.is_points:
        samples = model.sample(2500, generator=gen)
        save_scatter(samples, run_dir / "samples" / name, point_centers(config.data.name))
    elif can_sample:
        samples = model.sample(grid_size, generator=gen)
        save_grid(samples, run_dir / "samples" / name)
    if model.supports("reconstruct") and len(test_data):
        save_reconstruction_grid(model, test_data.head(max(1, grid_size // 2)), run_dir / "reconstructions" / name)
    if model.supports("pictures") and len(test_data):
        x, labels = next(batches(test_data.head(grid_size), grid_size))
        for title, grid in model.pictures(x, labels).items():  # e.g. translations, [rows, cols, C, H, W]
            save_grid(grid.flatten(0, 1), run_dir / title / name, nrow=grid.shape[1])
    model.train(was_training)
    return model.diagnose(samples, real) if real is not None and samples is not None else []


@torch.no_grad()
def save_reconstruction_grid(model: Model, data: ImageData, path: Path, per_row: int = 8) -> Path:
    """Rows alternate: originals, then their reconstructions."""
    x, labels = next(batches(data, len(data)))
    recon = model.reconstruct(model.prepare(x), labels)
    return save_grid(interleave_rows(x, recon, per_row), path, nrow=min(per_row, len(x)))

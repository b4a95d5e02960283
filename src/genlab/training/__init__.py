"""Training: resolve a run config, load data, build the model, run the generic loop with its callbacks."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from ..config import RunConfig, apply_overrides
from ..data import STREAM_MODES, load_split, load_splits, resolve_binarize
from ..devices import MEMORY_FORMATS, PRECISIONS, check_fits, pick_device
from ..distributed import Replicas, from_environment
from ..distributed import start as start_replicas
from ..distributed import stop as stop_replicas
from ..errors import GenlabError
from ..evaluation import parse_metrics
from ..files import exclusive_lock
from ..models import build_model, default_config
from ..models.registry import state_bytes
from ..runs import (
    LOCK,
    WEIGHTS,
    checkpoint_dir,
    has_checkpoint,
    load_config,
    load_pretrained,
    load_run,
    load_train_state,
    load_weights,
    resolve_model_config,
    save_checkpoint,
)
from .callbacks import default_callbacks
from .loggers import loggers_of
from .loop import Callback, Trainer
from .step import LR_SCHEDULES, evaluate_loss

# load_split, load_run, ... are re-exported: genlab.training was their home before genlab.data / genlab.runs
__all__ = [
    "Callback",
    "Trainer",
    "check_out_dir",
    "checkpoint_dir",
    "evaluate_loss",
    "load_run",
    "load_split",
    "load_splits",
    "load_train_state",
    "pick_device",
    "prepare_config",
    "save_checkpoint",
    "train",
    "validate",
]


MAX_GRID = 1024  # images in an epoch's sample grid: a 32 x 32 grid, which reports and browsers still open


def prepare_config(
    model_name: str,
    data: str = "mnist",
    preset: str | None = None,
    overrides: Sequence[str] = (),
    data_dir: str | None = None,
) -> RunConfig:
    """The default config of ``model_name`` with preset and overrides applied (not yet resolved)."""
    config = default_config(model_name, preset)
    config.data.name = data
    if data_dir:
        config.data.data_dir = data_dir
    return apply_overrides(config, list(overrides))


def check_out_dir(run_dir: Path, force: bool, echo: Callable[[str], None], keep: Sequence[str] = ()) -> None:
    """A new run's folder: new, empty (but for the entries named in ``keep``: what the app layer wrote there
    first), or a run that stopped before its first checkpoint (started again); anything else only with --force."""
    if run_dir.exists() and not run_dir.is_dir():
        raise GenlabError(f"--out {run_dir} is a file, not a folder")
    if force or not run_dir.is_dir() or not any(p.name not in (LOCK, *keep) for p in run_dir.iterdir()):
        return
    if (run_dir / "config.json").is_file() and not has_checkpoint(run_dir):
        echo(f"{run_dir} stopped before its first checkpoint; starting it again")
        return
    raise GenlabError(
        f"{run_dir} already exists and is not empty; use --resume to continue it or --force to train over it"
    )


def train(
    model_name: str | None = None,
    *,
    data: str | None = None,
    preset: str | None = None,
    overrides: Sequence[str] = (),
    out: str | Path = "runs/run",
    resume: bool = False,
    force: bool = False,
    dry_run: bool = False,
    data_dir: str | None = None,
    echo: Callable[[str], None] = print,
    callbacks: Sequence[Callback] | None = None,
    extra_callbacks: Sequence[Callback] = (),
) -> RunConfig:
    """Train a registered model on ``data`` (default mnist); returns the resolved config (``dry_run`` only resolves
    and returns it). ``callbacks`` replace the default per-epoch work (pictures, loss curve, scheduled
    evaluation, TensorBoard; the defaults run on the main process only); ``extra_callbacks`` run after them (the
    defaults or ``callbacks``), on the main process only -- e.g. the app layer's model card. Started by torchrun,
    each process is one data-parallel replica of the run (see genlab.distributed). Raises TrainingDiverged or
    TrainingInterrupted (a checkpoint saved) when it stops early."""
    run_dir, replicas = Path(out), from_environment()
    config = _run_config(model_name, run_dir, resume, data, preset, overrides, data_dir)
    if not (resume or dry_run):
        check_out_dir(run_dir, force, echo if replicas.main else _quiet)  # every replica, before any writes
    resolve_binarize(config)
    validate(config)
    train_data, test_data = load_splits(config)
    resolve_model_config(config, train_data)
    if dry_run:
        return config
    device = pick_device(config.train.device)
    finished = False
    try:
        if replicas.active:
            device = start_replicas(replicas, device)
        _fit(
            config,
            run_dir,
            resume,
            train_data,
            test_data,
            device,
            replicas,
            echo if replicas.main else _quiet,
            _chosen_callbacks(config, replicas, callbacks, extra_callbacks),
        )
        finished = True
    finally:
        stop_replicas(finished)
    return config


def _quiet(line: str) -> None:
    """What replicas other than 0 print: nothing."""


def _run_config(
    model_name: str | None,
    run_dir: Path,
    resume: bool,
    data: str,
    preset: str | None,
    overrides: Sequence[str],
    data_dir: str | None,
) -> RunConfig:
    """The saved config of a run to resume (with overrides), or a new run's."""
    if resume:
        config = load_config(run_dir)
        if data is not None and data != config.data.name:
            raise GenlabError(f"{run_dir} trains on {config.data.name}; --data applies to new runs only")
        return apply_overrides(config, list(overrides))
    if model_name is None:
        raise GenlabError("name a model to train")
    return prepare_config(model_name, data or "mnist", preset, overrides, data_dir)


def _chosen_callbacks(
    config: RunConfig, replicas: Replicas, callbacks: Sequence[Callback] | None, extra: Sequence[Callback]
) -> list[Callback]:
    """``callbacks`` (None: the defaults, on the main process only), then ``extra`` on the main process only."""
    if callbacks is None:
        callbacks = default_callbacks(config) if replicas.main else []
    return [*callbacks, *(extra if replicas.main else ())]


def _fit(
    config: RunConfig,
    run_dir: Path,
    resume: bool,
    train_data: Any,
    test_data: Any,
    device: torch.device,
    replicas: Replicas,
    echo: Callable[[str], None],
    callbacks: Sequence[Callback],
) -> None:
    """Build the model, then -- replica 0 holding the run folder's lock, so a second process on the same folder
    gets one line -- write the run folder and run the loop."""
    torch.manual_seed(config.train.seed)
    model = build_model(config.model_name, config.model)
    check_fits(
        3 * state_bytes(model),
        f"training a {config.model_name} of {state_bytes(model):,} bytes (gradients and Adam's two moments)",
        "make the model smaller",
    )
    if not resume:
        load_pretrained(model)
    lock = exclusive_lock(run_dir / LOCK, f"run folder {run_dir}") if replicas.main else contextlib.nullcontext()
    with lock:
        if replicas.main:
            (run_dir / "config.json").write_text(config.to_json())
        try:
            trainer = Trainer(model, config, train_data, test_data, run_dir, device, echo, callbacks, replicas)
        except GenlabError:
            if replicas.main and not resume:
                forget_start(run_dir)
            raise
        if resume and not _resumed(trainer, run_dir, echo):
            return
        trainer.fit()


def forget_start(run_dir: Path) -> None:
    """A new run that could not start leaves nothing behind: its config.json and lock go (the folder stays)."""
    for name in ("config.json", LOCK):
        (run_dir / name).unlink(missing_ok=True)


def _resumed(trainer: Trainer, run_dir: Path, echo: Callable[[str], None]) -> bool:
    """Load a run's weights and training state; False (said in one line) when it has nothing left to train."""
    load_weights(trainer.model, checkpoint_dir(run_dir) / WEIGHTS, trainer.model.name)
    trainer.resume()
    if trainer.state.epoch >= trainer.tc.epochs or trainer.state.step >= trainer.total_steps:
        echo(
            f"nothing to train: {run_dir} already finished (epoch {trainer.state.epoch}, step "
            f"{trainer.state.step}); raise train.epochs or train.max_steps with --set to train on"
        )
        return False
    return True


def option_checks(config: RunConfig) -> list[tuple[bool, str]]:
    """(holds, the line that says what to do when it does not) for every training and data option."""
    t = config.train
    return [
        (t.epochs >= 1, "train.epochs must be at least 1"),
        (t.max_steps is None or t.max_steps >= 1, "train.max_steps must be at least 1 (or none)"),
        (t.batch_size >= 1, "train.batch_size must be at least 1"),
        (t.lr > 0 and math.isfinite(t.lr), "train.lr must be a positive number"),
        (0 <= t.lr_min_ratio <= 1, "train.lr_min_ratio must be in [0, 1] (the final learning rate / train.lr)"),
        (0 <= t.seed < 2**32, "train.seed must be in [0, 2^32)"),
        (len(t.betas) == 2, "train.betas needs two values, e.g. train.betas=0.9,0.999"),
        (all(0 <= b < 1 for b in t.betas), "train.betas must each be in [0, 1), e.g. train.betas=0.5,0.999"),
        (
            t.eval_images >= 0 and 1 <= t.grid_size <= MAX_GRID,
            f"train.eval_images must be >= 0 and train.grid_size in 1..{MAX_GRID} (each epoch draws that many)",
        ),
        (t.max_nonfinite >= 1, "train.max_nonfinite must be at least 1"),
        (t.grad_clip >= 0 and t.grad_skip >= 0, "train.grad_clip and train.grad_skip must be >= 0 (0 = off)"),
        (
            t.on_diverge in ("rollback", "stop") and t.max_rollbacks >= 0,
            "train.on_diverge must be rollback or stop, and train.max_rollbacks >= 0",
        ),
        (
            t.checkpoint_every >= 0 and t.checkpoint_minutes >= 0,
            "train.checkpoint_every and train.checkpoint_minutes must be >= 0 (0 = at epoch ends only)",
        ),
        (0 <= config.data.test_fraction < 1, "data.test_fraction must be in [0, 1), e.g. 0.05"),
        (t.lr_schedule in LR_SCHEDULES, f"train.lr_schedule must be one of {', '.join(LR_SCHEDULES)}"),
        (t.precision in PRECISIONS, f"train.precision must be one of {', '.join(PRECISIONS)}"),
        (t.memory_format in MEMORY_FORMATS, f"train.memory_format must be one of {', '.join(MEMORY_FORMATS)}"),
        (config.data.limit is None or config.data.limit >= 1, "data.limit must be at least 1"),
        (config.data.stream in STREAM_MODES, f"data.stream must be one of {', '.join(STREAM_MODES)}"),
        (config.data.workers >= 0, "data.workers must be 0 (decode in this process) or more"),
        (t.eval_every >= 0 and t.eval_samples >= 2, "train.eval_every must be >= 0 and train.eval_samples >= 2"),
    ]


def validate(config: RunConfig) -> None:
    """Check training options before anything is written (model options are checked when it is built)."""
    t = config.train
    for ok, message in option_checks(config):
        if not ok:
            raise GenlabError(message)
    try:
        pick_device(t.device)
    except GenlabError as e:
        raise GenlabError(f"train.device: {e}") from None
    if t.eval_every:
        parse_metrics(t.eval_metrics)
    loggers_of(t)  # every named logger exists and its package is installed

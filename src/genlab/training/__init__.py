"""Training: resolve a run config, load data, build the model, run the generic loop."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import torch

from ..config import RunConfig, apply_overrides, default_config
from ..data import TEST_BINARIZATION_SEED, ImageData, check_binarize, load_dataset
from ..errors import GenlabError
from ..registry import build_model, get_model_class
from .checkpoint import WEIGHTS, checkpoint_dir, load_run, load_train_state, load_weights, save_checkpoint
from .device import pick_device
from .loop import LR_SCHEDULES, Trainer, evaluate_loss

__all__ = ["train", "prepare_config", "load_split", "load_splits", "load_run", "load_train_state", "save_checkpoint",
           "checkpoint_dir", "Trainer", "evaluate_loss", "pick_device"]


def resolve_binarize(config: RunConfig) -> None:
    """data.binarize=auto: dynamic for MNIST with a Bernoulli (or auto) likelihood, none otherwise."""
    data = config.data
    if data.binarize == "auto":
        likelihood = getattr(config.model, "likelihood", None)  # models without one (GANs) see real values
        data.binarize = "dynamic" if data.name == "mnist" and likelihood in ("auto", "bernoulli") else "none"
    check_binarize(data.binarize)


def load_split(config: RunConfig, split: str, raw: bool = False, for_eval: bool = False) -> ImageData:
    """One split as the config describes it: the training split as trained on (dynamic binarization
    happens per batch), other splits -- and every split ``for_eval`` -- binarized once with a fixed seed;
    ``raw`` skips binarization."""
    d, m = config.data, config.model
    data = load_dataset(d.name, split, data_dir=d.data_dir, image_size=getattr(m, "image_size", 0),
                        channels=getattr(m, "channels", 0), test_fraction=d.test_fraction,
                        seed=config.train.seed)
    if raw or d.binarize == "none":
        return data
    if split == d.train_split and not for_eval:
        return data.binarized(TEST_BINARIZATION_SEED + 1) if d.binarize == "static" else data
    return data.binarized(TEST_BINARIZATION_SEED)


def load_splits(config: RunConfig) -> tuple[ImageData, ImageData]:
    """Train and test data; dynamic binarization of the training set happens per batch."""
    return load_split(config, config.data.train_split).head(config.data.limit), load_split(config, "test")


def prepare_config(model_name: str, data: str = "mnist", preset: str | None = None,
                   overrides: Sequence[str] = (), data_dir: str | None = None) -> RunConfig:
    """The default config of ``model_name`` with preset and overrides applied (not yet resolved)."""
    config = default_config(model_name, preset)
    config.data.name = data
    if data_dir:
        config.data.data_dir = data_dir
    return apply_overrides(config, list(overrides))


def _check_out_dir(run_dir: Path, force: bool) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise GenlabError(f"--out {run_dir} is a file, not a folder")
    if run_dir.is_dir() and any(run_dir.iterdir()) and not force:
        raise GenlabError(f"{run_dir} already exists and is not empty; use --resume to continue it "
                          "or --force to train over it")


def train(model_name: str | None = None, *, data: str = "mnist", preset: str | None = None,
          overrides: Sequence[str] = (), out: str | Path = "runs/run", resume: bool = False,
          force: bool = False, dry_run: bool = False, data_dir: str | None = None,
          echo: Callable[[str], None] = print) -> RunConfig:
    """Train a registered model; returns the resolved config (``dry_run`` only resolves and returns it)."""
    run_dir = Path(out)
    if resume:
        config = apply_overrides(RunConfig.load(checkpoint_dir(run_dir) / "config.json"), list(overrides))
    else:
        if model_name is None:
            raise GenlabError("name a model to train")
        config = prepare_config(model_name, data, preset, overrides, data_dir)
        if not dry_run:
            _check_out_dir(run_dir, force)
    resolve_binarize(config)
    validate(config)
    train_data, test_data = load_splits(config)
    get_model_class(config.model_name).resolve_config(config.model, config.data, train_data)
    if dry_run:
        return config
    device = pick_device(config.train.device)
    torch.manual_seed(config.train.seed)
    model = build_model(config.model_name, config.model)
    if not resume:
        model.load_pretrained()
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(config.to_json())
    trainer = Trainer(model, config, train_data, test_data, run_dir, device, echo)
    if resume:
        load_weights_into(model, run_dir)
        trainer.resume()
    trainer.fit()
    return config


def validate(config: RunConfig) -> None:
    """Check training options before anything is written (model options are checked when it is built)."""
    t = config.train
    checks = [
        (t.epochs >= 1, "train.epochs must be at least 1"),
        (t.batch_size >= 1, "train.batch_size must be at least 1"),
        (t.lr > 0, "train.lr must be positive"),
        (len(t.betas) == 2, "train.betas needs two values, e.g. train.betas=0.9,0.999"),
        (t.lr_schedule in LR_SCHEDULES, f"train.lr_schedule must be one of {', '.join(LR_SCHEDULES)}"),
        (t.precision in ("fp32", "bf16"), "train.precision must be fp32 or bf16"),
        (config.data.limit is None or config.data.limit >= 1, "data.limit must be at least 1"),
        (t.eval_every >= 0 and t.eval_samples >= 2, "train.eval_every must be >= 0 and train.eval_samples >= 2"),
    ]
    for ok, message in checks:
        if not ok:
            raise GenlabError(message)
    pick_device(t.device)
    if t.eval_every:
        from ..evaluation import parse_metrics

        parse_metrics(t.eval_metrics)


def load_weights_into(model: torch.nn.Module, run_dir: Path) -> None:
    """Resume: the run's saved weights into a freshly built model."""
    load_weights(model, checkpoint_dir(run_dir) / WEIGHTS, model.name)

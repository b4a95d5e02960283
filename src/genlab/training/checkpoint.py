"""Run folders: atomic checkpoints (config.json + model.safetensors + train_state.pt) and safe loading."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..config import RunConfig
from ..errors import GenlabError
from ..registry import build_model

CHECKPOINT = "checkpoint"
WEIGHTS = "model.safetensors"
STATE = "train_state.pt"
CONFIG = "config.json"


def module_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Weights of the original module (never a compiled wrapper's ``_orig_mod.`` names), on the CPU."""
    inner = getattr(model, "_orig_mod", model)
    return {k: v.detach().cpu().contiguous() for k, v in inner.state_dict().items()}


def _fsync_dir_files(folder: Path) -> None:
    for f in folder.iterdir():
        with open(f, "rb") as handle:
            os.fsync(handle.fileno())


def save_checkpoint(run_dir: Path, model: torch.nn.Module, config: RunConfig,
                    train_state: dict[str, Any] | None = None) -> Path:
    """Write checkpoint.tmp/, fsync, then swap it in; the previous checkpoint survives any crash."""
    weights = module_state(model)
    if not all(torch.isfinite(t).all() for t in weights.values() if t.is_floating_point()):
        raise GenlabError("refusing to save non-finite weights; the last good checkpoint is kept")
    final, tmp, old = run_dir / CHECKPOINT, run_dir / f"{CHECKPOINT}.tmp", run_dir / f"{CHECKPOINT}.old"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / CONFIG).write_text(config.to_json())
    from .. import __version__

    save_file(weights, str(tmp / WEIGHTS), metadata={"model_name": config.model_name, "genlab": __version__})
    if train_state is not None:
        torch.save(train_state, tmp / STATE)
    _fsync_dir_files(tmp)
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    _fsync_dir(run_dir)  # make the renames durable
    shutil.rmtree(old, ignore_errors=True)
    return final


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def checkpoint_dir(run: str | Path) -> Path:
    """The checkpoint folder of a run (or the folder itself when it is a checkpoint)."""
    run = Path(run)
    if not run.exists():
        raise GenlabError(f"run folder {run} does not exist")
    for candidate in (run / CHECKPOINT, run / f"{CHECKPOINT}.old", run):
        if (candidate / WEIGHTS).is_file() and (candidate / CONFIG).is_file():
            return candidate
    raise GenlabError(f"{run} is not a genlab run (no {CHECKPOINT}/{WEIGHTS} with {CONFIG})")


def load_weights(model: torch.nn.Module, path: Path, model_name: str) -> None:
    """Load safetensors weights into ``model``; one clear line when they belong to another model."""
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise GenlabError(f"cannot read weights {path}: {e}") from None
    if meta.get("model_name", model_name) != model_name:
        raise GenlabError(f"{path} holds weights of model {meta['model_name']!r}, not {model_name!r}")
    try:
        result = model.load_state_dict(tensors, strict=False)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[-1].strip()
        raise GenlabError(f"weights in {path} do not fit the configured {model_name!r} model: {first}") from None
    if result.missing_keys or result.unexpected_keys:
        raise GenlabError(f"weights in {path} do not fit the configured {model_name!r} model "
                          f"({len(result.missing_keys)} missing, {len(result.unexpected_keys)} unexpected tensors)")


def load_run(run: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, RunConfig]:
    """A trained model (in eval mode) and its run config, without touching the dataset."""
    folder = checkpoint_dir(run)
    config = RunConfig.load(folder / CONFIG)
    model = build_model(config.model_name, config.model)
    load_weights(model, folder / WEIGHTS, config.model_name)
    return model.to(device).eval(), config


def load_train_state(run: str | Path) -> dict[str, Any]:
    """The resume state, loaded without unpickling arbitrary objects (weights_only=True)."""
    path = checkpoint_dir(run) / STATE
    if not path.is_file():
        raise GenlabError(f"{run} has no training state to resume from ({path} is missing)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - a corrupt or foreign file is a user error here
        raise GenlabError(f"cannot read training state {path}: {e}") from None

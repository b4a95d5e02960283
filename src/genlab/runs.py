"""Run folders, in one place: the checkpoint layout, atomic checkpoints, and safe loading.

A run folder holds ``checkpoint/`` (``config.json`` + ``model.safetensors`` for inference, loadable without
the dataset and without unpickling anything, and ``train_state.pt`` for resume, read with
``weights_only=True``), ``metrics.jsonl``, pictures and ``eval.json``. A checkpoint is written into
``checkpoint.tmp/``, flushed, then swapped in, so the last good one survives any crash.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import RunConfig, read_run_dict
from .errors import GenlabError
from .files import fsync_dir, fsync_files
from .models import build_model, get_model_class, run_config
from .version import __version__

CHECKPOINT = "checkpoint"
WEIGHTS = "model.safetensors"
STATE = "train_state.pt"
CONFIG = "config.json"


def module_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Weights of the original module (never a compiled wrapper's ``_orig_mod.`` names), on the CPU."""
    inner = getattr(model, "_orig_mod", model)
    return {k: v.detach().cpu().contiguous() for k, v in inner.state_dict().items()}


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
    save_file(weights, str(tmp / WEIGHTS), metadata={"model_name": config.model_name, "genlab": __version__})
    if train_state is not None:
        torch.save(train_state, tmp / STATE)
    fsync_files(tmp)
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    fsync_dir(run_dir)  # make the renames durable
    shutil.rmtree(old, ignore_errors=True)
    return final


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
    config = load_config(folder)
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


def load_config(run: str | Path) -> RunConfig:
    """The run config of a run folder (or of a checkpoint folder, or a config.json file itself)."""
    path = Path(run)
    return run_config(read_run_dict(path if path.suffix == ".json" else checkpoint_dir(path) / CONFIG))


def embed_pretrained(model_cls: type, model_config: Any) -> None:
    """Copy the config of every run a model builds on (``model_cls.pretrained``: config field naming the run
    -> model names it may be) into the field ``<name>_config``, so the model's checkpoint stands alone."""
    for field, kinds in model_cls.pretrained.items():
        if getattr(model_config, f"{field}_config"):
            continue
        run, wanted = getattr(model_config, field), " or ".join(kinds)
        if not run:
            raise GenlabError(f"a {model_cls.name} needs model.{field}=RUN, a trained {wanted} run folder")
        config = load_config(run)
        if config.model_name not in kinds:
            raise GenlabError(f"{run} is a {config.model_name!r} run; model.{field} must name a trained {wanted} run")
        setattr(model_config, f"{field}_config", config.to_dict())


def load_pretrained(model: torch.nn.Module) -> None:
    """A fresh run starts from the trained weights of the runs it builds on (each into the submodule of the
    same name); a saved run carries them in its own checkpoint."""
    for field in model.pretrained:
        config = getattr(model.config, f"{field}_config")
        load_weights(getattr(model, field), checkpoint_dir(getattr(model.config, field)) / WEIGHTS,
                     config["model_name"])


def resolve_model_config(config: RunConfig, dataset: Any) -> None:
    """Fill the model config's data-dependent fields (in place): the configs of the runs it builds on, then
    the model's own ``resolve_config``."""
    model_cls = get_model_class(config.model_name)
    embed_pretrained(model_cls, config.model)
    model_cls.resolve_config(config.model, config.data, dataset)

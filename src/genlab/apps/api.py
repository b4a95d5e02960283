"""The Python API behind ``genlab.train`` for scripts and notebooks: data given as arrays, tensors or a torch
Dataset, config values as keywords or a dict, a temporary run folder when none is named, callbacks added to the
defaults, and the trained model returned (with ``.run_dir`` and ``.run_config``); and behind
``model.save_pretrained``: the folder's files (genlab.pretrained), then its model card."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import DataConfig, TrainConfig, override_text
from ..data import ImageData
from ..data.arrays import save_arrays
from ..errors import GenlabError
from ..models import get_model_class
from ..pretrained import write_pretrained
from ..runs import load_run
from ..training import check_out_dir
from .report.cards import ModelCard, write_model_card
from .train import train as train_run

ARRAYS = "data.npz"  # where arrays given as data are written inside the run folder (read back as npz:PATH)


def train(
    model_name: str | None = None,
    data: Any = None,
    *,
    out: str | Path | None = None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
    callbacks: Sequence[Any] = (),
    **options: Any,
) -> Any:
    """Train ``model_name`` on ``data`` (a dataset name, a uint8 or [0, 1] array or tensor [N, (C,) H, W], an
    (images, labels) pair, or a torch Dataset of images or (image, label) pairs) and return the trained model.

    ``out`` None trains in a temporary folder; ``overrides`` are ``section.key=value`` strings or a dict of them;
    other keywords are either genlab.training.train's (preset, resume, force, dry_run, data_dir, echo,
    extra_callbacks) or config keys by their plain name (``epochs=2``, ``latent_dim=8``) when the name is a key
    of one section only. ``callbacks`` run after the default per-epoch work (pictures, loss curve, the model card),
    with per-step hooks (genlab.training.Callback). ``dry_run=True`` returns the resolved config instead."""
    run_options = {k: options.pop(k) for k in list(options) if k in TRAIN_OPTIONS}
    settings = [*as_settings(overrides), *keyword_settings(model_name, options)]
    run_dir = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="genlab-run-"))
    if out is None:
        run_options["force"] = True
    data_name = data_source(data, run_dir, run_options.get("resume", False), run_options.get("force", False))
    if not (data is None or isinstance(data, str)):
        run_options["force"] = True  # arrays: the folder was checked before they were written into it
    extra = [*run_options.pop("extra_callbacks", ()), *callbacks, ModelCard()]
    config = train_run(
        model_name, data=data_name, overrides=settings, out=run_dir, extra_callbacks=extra, **run_options
    )
    if run_options.get("dry_run"):
        return config
    model, _ = load_run(run_dir)
    model.run_dir, model.run_config = run_dir, config
    return model


TRAIN_OPTIONS = ("preset", "resume", "force", "dry_run", "data_dir", "echo", "extra_callbacks")


def as_settings(overrides: Sequence[str] | Mapping[str, Any]) -> list[str]:
    """``section.key=value`` strings from a list of them or a dict ``{"train.epochs": 2}``."""
    if isinstance(overrides, Mapping):
        return [f"{key}={override_text(value)}" for key, value in overrides.items()]
    if isinstance(overrides, str):
        raise GenlabError("overrides is a list of 'section.key=value' strings or a dict, not one string")
    return list(overrides)


def keyword_settings(model_name: str | None, options: Mapping[str, Any]) -> list[str]:
    """Config values given as keywords by their plain key name, placed in the one section that has the key."""
    sections = {"data": DataConfig, "train": TrainConfig}
    if model_name is not None:
        sections["model"] = get_model_class(model_name).Config
    keys = {s: {f.name for f in dataclasses.fields(cls)} for s, cls in sections.items()}
    settings = []
    for name, value in options.items():
        owners = [s for s in keys if name in keys[s]]
        if len(owners) != 1:
            where = " and ".join(f"{s}.{name}" for s in owners) or "no section's keys"
            raise GenlabError(f"genlab.train() got {name}={value!r}, which is {where}: pass overrides={{...}}")
        settings.append(f"{owners[0]}.{name}={override_text(value)}")
    return settings


def data_source(data: Any, run_dir: Path, resume: bool, force: bool) -> str | None:
    """The dataset name to train on: ``data`` itself when it is one, else its images written as an .npz in the
    run folder (kept with the run, so a resume reads the same images)."""
    if data is None or isinstance(data, str):
        return data
    if resume:
        raise GenlabError("a resumed run trains on the data it started with; pass no data with resume=True")
    images, labels = image_arrays(data)
    check_out_dir(run_dir, force, lambda line: None, keep=(ARRAYS,))  # before the arrays are written into it
    run_dir.mkdir(parents=True, exist_ok=True)
    classes = [str(c) for c in range(int(labels.max()) + 1)] if len(labels) else ["0"]
    path = save_arrays(run_dir / ARRAYS, {"train": ImageData(images, labels, classes, "arrays")}, classes)
    return f"npz:{path}"


def image_arrays(data: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images [N, C, H, W] and int64 labels [N] from an array, a tensor, an (images, labels) pair or a
    torch Dataset; one clear line for anything else."""
    if isinstance(data, torch.utils.data.Dataset) and not isinstance(data, torch.Tensor):
        items = [data[i] for i in range(len(data))]  # type: ignore[arg-type]
        pairs = [item if isinstance(item, (tuple, list)) else (item, 0) for item in items]
        data = (torch.stack([torch.as_tensor(x) for x, _ in pairs]), torch.tensor([int(y) for _, y in pairs]))
    images, labels = data if isinstance(data, (tuple, list)) else (data, None)
    images = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    if images.dim() == 3:
        images = images.unsqueeze(1)  # [N, H, W] gray
    if images.dim() != 4 or images.shape[1] not in (1, 3) or not len(images):
        raise GenlabError(f"data must be images [N, H, W] or [N, 1 or 3, H, W], got shape {tuple(images.shape)}")
    if images.dtype != torch.uint8:
        images = (images.float().clamp(0, 1) * 255).round().to(torch.uint8)  # floats are read as [0, 1]
    labels = torch.zeros(len(images), dtype=torch.long) if labels is None else torch.as_tensor(labels).long()
    if labels.shape != (len(images),) or (len(labels) and labels.min() < 0):
        raise GenlabError(f"labels must be {len(images)} class numbers >= 0, got shape {tuple(labels.shape)}")
    return images, labels


def save_pretrained(model: Any, folder: str | Path, *, force: bool = False) -> Path:
    """``model.save_pretrained(folder)``: config.json, model.safetensors, checksums.json and eval.json (the scores
    of these weights) by genlab.pretrained.write_pretrained, then the model card (README.md with the Hub's
    ``model-index`` of those scores, samples.png) drawn from ``model``; returns the folder."""
    folder = write_pretrained(model, folder, force=force)
    write_model_card(folder, model)
    return folder

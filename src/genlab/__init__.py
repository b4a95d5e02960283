"""genlab: generative image models from the lecture "Generative Neural Networks"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import GenlabError
from .registry import HOOKS
from .version import __version__


def load(path: str | Path, device: str = "cpu") -> Any:
    """A trained model, ready for sample/encode/decode (no dataset needed), with ``.run_dir`` and ``.run_config``:
    from a run folder, a checkpoint or save_pretrained folder, or an ONNX export folder that holds its weights."""
    from .pretrained import load as _load

    return _load(path, device)


def from_pretrained(name: str | Path, device: str = "cpu", *, revision: str | None = None) -> Any:
    """A model from a local folder (what ``load`` takes) or a Hugging Face Hub id "user/name" (needs the hub
    extra: pip install 'genlab[hub]'); ``revision``: a Hub branch, tag or commit."""
    from .pretrained import from_pretrained as _from_pretrained

    return _from_pretrained(name, device, revision=revision)


def save_pretrained(model: Any, folder: str | Path, *, force: bool = False) -> Path:
    """``model.save_pretrained(folder)``: a self-contained folder in the Hugging Face Hub's layout (config.json,
    model.safetensors, checksums.json, eval.json, README.md with a model-index, samples.png); see
    :func:`genlab.apps.api.save_pretrained`. Registered as the writer models call (genlab.registry.HOOKS)."""
    from .apps.api import save_pretrained as _save_pretrained

    return _save_pretrained(model, folder, force=force)


def train(model: str | None = None, data: Any = None, **options: Any) -> Any:
    """Train ``model`` on ``data`` (a dataset name, images as an array or tensor, or a torch Dataset) and return
    the trained model, with ``.run_dir`` and ``.run_config``; see :func:`genlab.apps.api.train` for the options
    (config values as keywords or a dict, ``out=None`` for a temporary run, callbacks added to the defaults)."""
    from .apps.api import train as _train

    return _train(model, data, **options)


if "save_pretrained" not in HOOKS:  # model.save_pretrained calls it; a reload keeps the first registration
    HOOKS.register("save_pretrained", save_pretrained)

__all__ = ["GenlabError", "__version__", "from_pretrained", "load", "save_pretrained", "train"]

"""Model registry: models register by name; the CLI, run loaders and tests discover them here.

Importing ``genlab.models`` imports every model file in this package, so a lookup always sees the built-in
models; a model defined elsewhere registers itself when its module is imported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch

from ..config import RunConfig, apply_overrides, check_run_dict
from ..devices import check_fits
from ..errors import GenlabError
from ..registry import Registry

MODELS: Registry[type] = Registry("model")


def register(name: str) -> Callable[[type], type]:
    """Class decorator adding a model class to the registry under ``name``."""

    def wrap(cls: type) -> type:
        cls.name = name
        return MODELS.register(name, cls)

    return wrap


def model_names() -> list[str]:
    """Names of all registered models."""
    return sorted(MODELS)


def get_model_class(name: str) -> type:
    """The model class registered as ``name``; a clear error for unknown names."""
    return MODELS.get(name)


def build_model(name: str, config: Any) -> Any:
    """Instantiate model ``name`` from its config dataclass, once its size is known to fit in memory."""
    model_cls = get_model_class(name)
    check_counts(config)
    check_fits(
        planned_bytes(model_cls, config),
        f"a {name} model of this config",
        "make it smaller (model.image_size, widths, hidden sizes)",
    )
    try:
        return model_cls(config)
    except (RuntimeError, ValueError) as e:  # sizes no layer accepts; a failed allocation stays what it is
        if "memory" in str(e):
            raise
        raise GenlabError(f"the model options do not make a {name} model: {str(e).splitlines()[0]}") from None


def check_counts(config: Any) -> None:
    """Sizes and counts (every integer option of a model) cannot be negative."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        values = value if isinstance(value, tuple) else (value,)
        if any(isinstance(v, int) and not isinstance(v, bool) and v < 0 for v in values):
            raise GenlabError(f"model.{field.name} cannot be negative, got {value}")


def planned_bytes(model_cls: type, config: Any) -> int:
    """The bytes of a model's parameters and buffers, from a copy built on the meta device (no memory used)."""
    try:
        with torch.device("meta"):
            probe = model_cls(config)
    except GenlabError:
        raise
    except Exception:
        return 0
    return state_bytes(probe)


def state_bytes(model: Any) -> int:
    """The bytes a model's parameters and buffers take."""
    return sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])


def run_config(d: dict) -> RunConfig:
    """A run config from its JSON form, with the model section read by the named model's Config class."""
    check_run_dict(d)
    return RunConfig.from_dict(d, get_model_class(d["model_name"]).Config)


def default_config(model_name: str, preset: str | None = None) -> RunConfig:
    """The model's default run config, with a named preset's overrides applied."""
    model_cls = get_model_class(model_name)
    config = RunConfig(model_name=model_name, model=model_cls.Config())
    apply_overrides(config, list(getattr(model_cls, "train_defaults", [])))
    if preset is not None:
        presets = getattr(model_cls, "presets", {})
        if preset not in presets:
            names = ", ".join(sorted(presets)) or "none"
            raise GenlabError(f"model {model_name!r} has no preset {preset!r}; presets: {names}")
        apply_overrides(config, presets[preset])
    return config

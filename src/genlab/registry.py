"""Model registry: models register by name; the CLI, loaders and tests discover them here."""
from __future__ import annotations

from typing import Any, Callable

from .errors import GenlabError

_MODELS: dict[str, type] = {}


def register(name: str) -> Callable[[type], type]:
    """Class decorator adding a model class to the registry under ``name``."""

    def wrap(cls: type) -> type:
        cls.name = name
        _MODELS[name] = cls
        return cls

    return wrap


def _ensure_loaded() -> None:
    from . import models  # noqa: F401  (importing registers the built-in models)


def model_names() -> list[str]:
    """Names of all registered models."""
    _ensure_loaded()
    return sorted(_MODELS)


def get_model_class(name: str) -> type:
    """The model class registered as ``name``; a clear error for unknown names."""
    _ensure_loaded()
    if name not in _MODELS:
        raise GenlabError(f"unknown model {name!r}; choose one of: {', '.join(sorted(_MODELS))}")
    return _MODELS[name]


def build_model(name: str, config: Any) -> Any:
    """Instantiate model ``name`` from its config dataclass."""
    return get_model_class(name)(config)

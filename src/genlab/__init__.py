"""genlab: generative image models from the lecture "Generative Neural Networks"."""

from __future__ import annotations

from typing import Any

from .errors import GenlabError
from .version import __version__


def load(run: str, device: str = "cpu"):
    """A trained model from a run folder, ready for sample/encode/decode (no dataset needed)."""
    from .runs import load_run

    return load_run(run, device)[0]


def train(*args: Any, **kwargs: Any) -> Any:
    """Train a model (:func:`genlab.training.train`, same arguments); as ``genlab train`` does, the default epoch
    work includes the checkpoint's model card (unless ``callbacks`` replace the defaults)."""
    from .apps.report.cards import ModelCard
    from .apps.train import train as _train  # CyCADA's auto classifier first (the app layer)

    if kwargs.get("callbacks") is None:
        kwargs["extra_callbacks"] = [*kwargs.get("extra_callbacks", ()), ModelCard()]
    return _train(*args, **kwargs)


__all__ = ["GenlabError", "__version__", "load", "train"]

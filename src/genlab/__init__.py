"""genlab: generative image models from the lecture "Generative Neural Networks"."""

from __future__ import annotations

from typing import Any

from .errors import GenlabError
from .version import __version__


def load(run: str, device: str = "cpu"):
    """A trained model from a run folder, ready for sample/encode/decode (no dataset needed)."""
    from .runs import load_run

    return load_run(run, device)[0]


def train(model: str | None = None, data: Any = None, **options: Any) -> Any:
    """Train ``model`` on ``data`` (a dataset name, images as an array or tensor, or a torch Dataset) and return
    the trained model, with ``.run_dir`` and ``.run_config``; see :func:`genlab.apps.api.train` for the options
    (config values as keywords or a dict, ``out=None`` for a temporary run, callbacks added to the defaults)."""
    from .apps.api import train as _train

    return _train(model, data, **options)


__all__ = ["GenlabError", "__version__", "load", "train"]

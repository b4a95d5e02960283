"""genlab: generative image models from the lecture "Generative Neural Networks"."""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import GenlabError  # noqa: E402


def load(run: str, device: str = "cpu"):
    """A trained model from a run folder, ready for sample/encode/decode (no dataset needed)."""
    from .training.checkpoint import load_run

    return load_run(run, device)[0]


def train(*args, **kwargs):
    """Train a model; see :func:`genlab.training.train`."""
    from .training import train as _train

    return _train(*args, **kwargs)


__all__ = ["GenlabError", "__version__", "load", "train"]

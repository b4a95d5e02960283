"""genlab: generative image models from the lecture "Generative Neural Networks"."""
from __future__ import annotations

from .errors import GenlabError
from .version import __version__


def load(run: str, device: str = "cpu"):
    """A trained model from a run folder, ready for sample/encode/decode (no dataset needed)."""
    from .runs import load_run

    return load_run(run, device)[0]


def train(*args, **kwargs):
    """Train a model; see :func:`genlab.training.train`."""
    from .training import train as _train

    return _train(*args, **kwargs)


__all__ = ["GenlabError", "__version__", "load", "train"]

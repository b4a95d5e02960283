"""genlab studio (``genlab serve``): a local web page over trained runs; the API is in docs/studio.md.

FastAPI, uvicorn and python-multipart (the ``studio`` extra) are imported only when an app is built, so
``import genlab`` and the ``genlab`` command never need them.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import GenlabError

STUDIO_EXTRA = "genlab serve needs the studio extra: pip install 'genlab[studio]'"
STUDIO_PACKAGES = (("fastapi",), ("uvicorn",), ("python_multipart", "multipart"))  # each: any one of these modules

__all__ = ["STUDIO_EXTRA", "check_studio_extra", "create_app"]


def check_studio_extra() -> None:
    """One clear line when a package of the studio extra is missing."""
    for modules in STUDIO_PACKAGES:
        if not any(importlib.util.find_spec(module) for module in modules):
            raise GenlabError(STUDIO_EXTRA)


def create_app(runs: Sequence[str | Path], device: str = "cpu") -> Any:
    """The studio's FastAPI app over ``runs`` (each model loaded now, once, in eval mode on ``device``)."""
    check_studio_extra()
    from .app import build_app
    from .studio import load_studio

    return build_app(load_studio(runs, device))

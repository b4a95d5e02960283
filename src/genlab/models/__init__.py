"""Model families, one file each, and the registry that finds them by name.

Importing this package imports every module in it, so adding a model means adding one file with a class
decorated ``@register("name")`` (see README, "Adding a model").
"""

from ..registry import import_modules
from .base import GenerativeModel
from .registry import build_model, default_config, get_model_class, model_names, register, run_config

import_modules(__name__, __path__)

__all__ = [
    "GenerativeModel",
    "build_model",
    "default_config",
    "get_model_class",
    "model_names",
    "register",
    "run_config",
]

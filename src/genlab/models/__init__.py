"""Model families, one file each, and the registry that finds them by name.

Importing this package imports every module in it, so adding a model means adding one file with a class
decorated ``@register("name")`` (see README, "Adding a model").
"""
import importlib
import pkgutil

from .base import GenerativeModel
from .registry import build_model, default_config, get_model_class, model_names, register, run_config

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["GenerativeModel", "build_model", "default_config", "get_model_class", "model_names", "register",
           "run_config"]

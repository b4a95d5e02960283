"""Objectives: reconstruction likelihoods and adversarial losses, each with one uniform signature.

GAN objectives and likelihoods are found by name in their registries; importing this package imports every
module in it, so adding one means adding one file (docs/extending.md, "Adding a GAN objective").
"""

from ..registry import import_modules
from .adversarial import (
    OBJECTIVE_REGISTRY,
    OBJECTIVES,
    GANObjective,
    gradient_penalty,
    make_objective,
    r1_penalty,
    r2_penalty,
)
from .likelihood import LIKELIHOODS, Bernoulli, Gaussian, Likelihood, make_likelihood

import_modules(__name__, __path__)

__all__ = [
    "LIKELIHOODS",
    "OBJECTIVES",
    "OBJECTIVE_REGISTRY",
    "Bernoulli",
    "GANObjective",
    "Gaussian",
    "Likelihood",
    "gradient_penalty",
    "make_likelihood",
    "make_objective",
    "r1_penalty",
    "r2_penalty",
]

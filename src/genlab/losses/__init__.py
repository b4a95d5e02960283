"""Objectives: reconstruction likelihoods and adversarial losses, each with one uniform signature."""
from .adversarial import (OBJECTIVE_REGISTRY, OBJECTIVES, GANObjective, gradient_penalty, make_objective, r1_penalty,
                          r2_penalty)
from .likelihood import LIKELIHOODS, Bernoulli, Gaussian, Likelihood, make_likelihood

__all__ = ["LIKELIHOODS", "OBJECTIVES", "OBJECTIVE_REGISTRY", "Bernoulli", "GANObjective", "Gaussian", "Likelihood",
           "gradient_penalty", "make_likelihood", "make_objective", "r1_penalty", "r2_penalty"]

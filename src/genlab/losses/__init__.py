"""Objectives: reconstruction likelihoods and adversarial losses, each with one uniform signature."""
from .adversarial import OBJECTIVES, GANObjective, gradient_penalty, make_objective, r1_penalty, r2_penalty
from .likelihood import Bernoulli, Gaussian, Likelihood, make_likelihood

__all__ = ["OBJECTIVES", "Bernoulli", "GANObjective", "Gaussian", "Likelihood", "gradient_penalty",
           "make_likelihood", "make_objective", "r1_penalty", "r2_penalty"]

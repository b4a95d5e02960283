"""Sampling primitives from the lecture: Box-Muller, reparametrization, diagonal Gaussians, KL."""
from .distributions import DiagonalGaussian, kl_monte_carlo
from .sampling import BoxMullerSampler, box_muller, log_mean_exp, reparameterize, slerp, lerp

__all__ = [
    "BoxMullerSampler",
    "DiagonalGaussian",
    "box_muller",
    "kl_monte_carlo",
    "lerp",
    "log_mean_exp",
    "reparameterize",
    "slerp",
]

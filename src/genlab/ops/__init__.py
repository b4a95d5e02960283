"""Sampling primitives from the lecture: Box-Muller, reparametrization, diagonal Gaussians, KL."""
from .distributions import DiagonalGaussian, kl_monte_carlo
from .sampling import BoxMullerSampler, batch_shard, box_muller, lerp, log_mean_exp, per_sample, reparameterize, slerp

__all__ = [
    "BoxMullerSampler",
    "DiagonalGaussian",
    "batch_shard",
    "box_muller",
    "kl_monte_carlo",
    "lerp",
    "log_mean_exp",
    "per_sample",
    "reparameterize",
    "slerp",
]

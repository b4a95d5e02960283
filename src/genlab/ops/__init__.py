"""Sampling primitives from the lecture: Box-Muller, reparametrization, diagonal Gaussians, KL; batched image
augmentations (genlab.ops.augment)."""

from .augment import add_noise, gaussian_blur, robust_augment
from .distributions import DiagonalGaussian, kl_monte_carlo
from .sampling import BoxMullerSampler, batch_shard, box_muller, lerp, log_mean_exp, per_sample, reparameterize, slerp

__all__ = [
    "BoxMullerSampler",
    "DiagonalGaussian",
    "add_noise",
    "batch_shard",
    "box_muller",
    "gaussian_blur",
    "kl_monte_carlo",
    "lerp",
    "log_mean_exp",
    "per_sample",
    "reparameterize",
    "robust_augment",
    "slerp",
]

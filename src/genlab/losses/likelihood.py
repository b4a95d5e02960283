"""Objectives: reconstruction likelihoods p(x | decoder output) for binary and continuous images."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ..ops import per_sample
from ..ops.distributions import LOG_2PI
from ..registry import Registry


def _per_image(x: Tensor) -> Tensor:
    return x.flatten(1).sum(1)


class Likelihood:
    """An observation model: decoder parameters -> log p(x | z) per image, and its mean image."""

    name = ""
    discrete = False  # True when log_prob is a probability mass (no dequantization offset)

    def param_channels(self, channels: int) -> int:
        return channels

    def log_prob(self, params: Tensor, x: Tensor) -> Tensor:
        raise NotImplementedError

    def mean(self, params: Tensor) -> Tensor:
        raise NotImplementedError

    def prepare(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Map a batch from the data pipeline to the space the likelihood is defined on."""
        return x

    def discrete_offset(self, dims: int) -> float:
        """Nats to add to -log p(x) to get the NLL of 8-bit data (Theis et al. 2016 dequantization)."""
        return 0.0 if self.discrete else dims * math.log(256)


class Bernoulli(Likelihood):
    """Independent Bernoulli pixels from logits (binary images); BCE computed from logits."""

    name = "bernoulli"
    discrete = True

    def log_prob(self, params: Tensor, x: Tensor) -> Tensor:
        return -_per_image(F.binary_cross_entropy_with_logits(params, x, reduction="none"))

    def mean(self, params: Tensor) -> Tensor:
        return torch.sigmoid(params)


class Gaussian(Likelihood):
    """Gaussian pixels on uniformly dequantized [0, 1] data, fixed or learned per-pixel variance."""

    name = "gaussian"

    def __init__(self, std: float = 0.1, learned: bool = False, min_log_var: float = -9.0):
        self.log_var = 2 * math.log(std)
        self.learned = learned
        self.min_log_var = min_log_var

    def param_channels(self, channels: int) -> int:
        return 2 * channels if self.learned else channels

    def _split(self, params: Tensor) -> tuple[Tensor, Tensor]:
        if not self.learned:
            return params, torch.full_like(params, self.log_var)
        mean, raw = params.chunk(2, dim=1)
        return mean, self.min_log_var + F.softplus(raw - self.min_log_var)  # soft floor on the variance

    def log_prob(self, params: Tensor, x: Tensor) -> Tensor:
        mean, log_var = self._split(params)
        return _per_image(-0.5 * (LOG_2PI + log_var + (x - mean) ** 2 * torch.exp(-log_var)))

    def mean(self, params: Tensor) -> Tensor:
        return self._split(params)[0].clamp(0, 1)

    def prepare(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Uniform dequantization: pixel k/255 -> (k + u) / 256, u ~ U[0, 1)."""
        noise = per_sample(
            lambda n: torch.rand((n, *x.shape[1:]), generator=generator, device=x.device, dtype=x.dtype), x.shape[0]
        )
        return (torch.round(x * 255) + noise) / 256


# name -> factory(std, mixtures): the Gaussian's fixed std, the components of a mixture; each takes what it needs
LIKELIHOODS: Registry[Callable[..., Likelihood]] = Registry("likelihood")
LIKELIHOODS.register("bernoulli", lambda std, **_: Bernoulli())
LIKELIHOODS.register("gaussian", lambda std, **_: Gaussian(std=std))
LIKELIHOODS.register("gaussian_learned", lambda std, **_: Gaussian(std=std, learned=True))


def make_likelihood(name: str, std: float = 0.1, mixtures: int = 10) -> Likelihood:
    """Likelihood by name: bernoulli | gaussian (fixed std) | gaussian_learned | logistic_mixture (or a registered
    one)."""
    return LIKELIHOODS.get(name)(std, mixtures=mixtures)

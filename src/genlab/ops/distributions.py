"""Diagonal Gaussian distribution with everything a VAE needs, and a Monte-Carlo KL estimator."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .sampling import reparameterize

LOG_2PI = math.log(2 * math.pi)


class DiagonalGaussian:
    """N(mean, diag(exp(log_var))) over all non-batch dimensions of ``mean``."""

    def __init__(self, mean: Tensor, log_var: Tensor):
        self.mean = mean
        self.log_var = log_var

    @classmethod
    def from_params(cls, params: Tensor, dim: int = 1) -> DiagonalGaussian:
        """Split a tensor of concatenated [mean, log_var] along ``dim``."""
        mean, log_var = params.chunk(2, dim=dim)
        return cls(mean, log_var)

    @classmethod
    def standard(cls, like: Tensor) -> DiagonalGaussian:
        """N(0, I) with the shape, dtype and device of ``like``."""
        zeros = torch.zeros_like(like)
        return cls(zeros, zeros)

    @property
    def std(self) -> Tensor:
        return torch.exp(0.5 * self.log_var)

    @property
    def var(self) -> Tensor:
        return torch.exp(self.log_var)

    def _sum(self, x: Tensor) -> Tensor:
        return x.flatten(1).sum(1) if x.dim() > 1 else x

    def rsample(self, generator: torch.Generator | None = None) -> Tensor:
        """A reparametrized sample: gradients flow to mean and log_var."""
        return reparameterize(self.mean, self.log_var, generator)

    def sample(self, generator: torch.Generator | None = None) -> Tensor:
        """A sample without gradient."""
        with torch.no_grad():
            return self.rsample(generator)

    def mode(self) -> Tensor:
        """The most likely point (the mean)."""
        return self.mean

    def log_prob(self, x: Tensor) -> Tensor:
        """log N(x; mean, var), summed over non-batch dimensions."""
        return self._sum(-0.5 * (LOG_2PI + self.log_var + (x - self.mean) ** 2 / self.var))

    def entropy(self) -> Tensor:
        """Differential entropy, summed over non-batch dimensions."""
        return self._sum(0.5 * (LOG_2PI + 1.0 + self.log_var))

    def kl(self, other: DiagonalGaussian | None = None) -> Tensor:
        """Analytic KL(self || other); other=None means N(0, I) (Kingma & Welling 2014, App. B)."""
        if other is None:
            return self._sum(0.5 * (self.var + self.mean**2 - 1.0 - self.log_var))
        ratio = self.var / other.var
        diff = (self.mean - other.mean) ** 2 / other.var
        return self._sum(0.5 * (ratio + diff - 1.0 - torch.log(ratio)))


def kl_monte_carlo(
    p: DiagonalGaussian,
    q: DiagonalGaussian,
    n_samples: int = 10_000,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Unbiased estimate of KL(p || q) = E_p[log p(z) - log q(z)] and its standard error."""
    big_p, big_q = _tile(p, n_samples), _tile(q, n_samples)
    z = big_p.sample(generator)
    log_ratio = (big_p.log_prob(z) - big_q.log_prob(z)).reshape(n_samples, -1)  # [S, B]
    return log_ratio.mean(0), log_ratio.std(0) / math.sqrt(n_samples)


def _tile(d: DiagonalGaussian, n: int) -> DiagonalGaussian:
    """n copies of a batch of Gaussians stacked along the batch dimension."""
    reps = (n,) + (1,) * (d.mean.dim() - 1)
    return DiagonalGaussian(d.mean.repeat(reps), d.log_var.repeat(reps))

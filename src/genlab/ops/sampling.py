"""Turning uniform numbers into Gaussian ones, and moving between latent codes."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator

import torch
from torch import Tensor

_SHARD = [0, 1]  # (index, count): this process's share of every batch; (0, 1) outside data-parallel steps


@contextlib.contextmanager
def batch_shard(index: int, count: int) -> Iterator[None]:
    """Inside the block, per-sample noise is drawn for the whole global batch and cut to share ``index`` of
    ``count``, so ``count`` data-parallel processes draw exactly what one process would for the global batch."""
    previous = list(_SHARD)
    _SHARD[:] = [index, count]
    try:
        yield
    finally:
        _SHARD[:] = previous


def per_sample(draw: Callable[[int], Tensor], n: int) -> Tensor:
    """``draw(n)`` -- noise for n samples along dimension 0; inside ``batch_shard`` this process's n rows of
    the global batch's draw."""
    index, count = _SHARD
    return draw(n) if count == 1 else draw(n * count)[index * n : (index + 1) * n]


def box_muller(u: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """Box & Muller (1958): U, V ~ U(0,1] -> X = sqrt(-2 ln U) cos 2piV, Y = sqrt(-2 ln U) sin 2piV."""
    radius = torch.sqrt(-2.0 * torch.log(u))
    angle = 2.0 * math.pi * v
    return radius * torch.cos(angle), radius * torch.sin(angle)


class BoxMullerSampler:
    """Standard normal sampler built only on uniform random numbers via the Box-Muller transform."""

    def __init__(self, generator: torch.Generator | None = None, device: str | torch.device = "cpu"):
        self.generator = generator
        self.device = torch.device(device)

    def uniform(self, n: int) -> Tensor:
        """n numbers in (0, 1]: 1 - U[0, 1) keeps log(U) finite."""
        return 1.0 - torch.rand(n, generator=self.generator, device=self.device)

    def sample(self, *shape: int) -> Tensor:
        """A tensor of the given shape with i.i.d. N(0, 1) entries."""
        numel = math.prod(shape)
        pairs = (numel + 1) // 2
        x, y = box_muller(self.uniform(pairs), self.uniform(pairs))
        return torch.cat([x, y])[:numel].reshape(shape)


def reparameterize(mean: Tensor, log_var: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Kingma & Welling (2014) Eq. 10: z = mu + sigma * eps, eps ~ N(0, I), differentiable in mu, sigma."""

    def draw(n: int) -> Tensor:
        return torch.randn((n, *mean.shape[1:]), generator=generator, device=mean.device, dtype=mean.dtype)

    eps = per_sample(draw, mean.shape[0]) if mean.dim() else draw(1)[0]
    return mean + torch.exp(0.5 * log_var) * eps


def log_mean_exp(x: Tensor, dim: int = -1) -> Tensor:
    """Numerically stable log(mean(exp(x))) along ``dim`` (IWAE bound, Burda et al. 2016 Eq. 8)."""
    return torch.logsumexp(x, dim=dim) - math.log(x.shape[dim])


def lerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Linear interpolation (1 - t) a + t b, broadcast over a leading batch of t."""
    t = t.reshape(-1, *([1] * a.dim()))
    return (1 - t) * a + t * b


def slerp(a: Tensor, b: Tensor, t: Tensor, eps: float = 1e-7) -> Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016 for Gaussian latents) between flat codes a, b."""
    a_flat, b_flat = a.flatten(), b.flatten()
    cos = torch.dot(a_flat, b_flat) / (a_flat.norm() * b_flat.norm() + eps)
    if cos > 1 - 1e-6:  # (nearly) parallel: the great circle is undefined, lerp is exact enough
        return lerp(a, b, t)
    omega = torch.arccos(cos.clamp(-1 + eps, 1 - eps))
    t = t.reshape(-1, *([1] * a.dim()))
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)

"""Exact denoisers of Gaussian data, the known answers diffusion tests check samplers and objectives against: for
x = x0 + sigma * n, E[x0 | x] is closed form when x0 is Gaussian or a mixture of isotropic Gaussians."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

ExactDenoiser = Callable[[Tensor, Tensor], Tensor]  # (x [B, d], sigma [B]) -> E[x0 | x]


def gaussian_denoiser(mean: Tensor, cov: Tensor) -> ExactDenoiser:
    """x0 ~ N(mean, cov): E[x0 | x] = mean + cov (cov + sigma^2 I)^-1 (x - mean), through cov's eigenvectors."""
    eigenvalues, vectors = torch.linalg.eigh(cov.double())

    def denoise(x: Tensor, sigma: Tensor) -> Tensor:
        shrink = eigenvalues / (eigenvalues + sigma.double()[:, None] ** 2)  # [B, d]
        centred = (x.double() - mean) @ vectors
        return (mean + (centred * shrink) @ vectors.T).to(x.dtype)

    return denoise


def gaussian_flow_map(mean: Tensor, cov: Tensor, sigma_max: float) -> Callable[[Tensor], Tensor]:
    """Where the probability-flow ODE takes x at sigma_max to at sigma = 0 for x0 ~ N(mean, cov): along each
    eigenvector x - mean scales as sqrt(lambda + sigma^2) (Karras et al. 2022, Eq. 3 solved for Gaussian data)."""
    eigenvalues, vectors = torch.linalg.eigh(cov.double())
    scale = (eigenvalues / (eigenvalues + sigma_max**2)).sqrt()
    return lambda x: (mean + ((x.double() - mean) @ vectors * scale) @ vectors.T).to(x.dtype)


def mixture_denoiser(means: Tensor, stds: Tensor, weights: Tensor) -> ExactDenoiser:
    """x0 from the mixture sum_k w_k N(means_k, stds_k^2 I): the components' posterior means weighted by their
    responsibilities p(k | x), where x | k ~ N(means_k, (stds_k^2 + sigma^2) I)."""
    means, variances, log_weights = means.double(), stds.double() ** 2, weights.double().log()

    def denoise(x: Tensor, sigma: Tensor) -> Tensor:
        x64, total = x.double(), variances[None] + sigma.double()[:, None] ** 2  # [B, K]
        distance = ((x64[:, None] - means[None]) ** 2).sum(-1)  # [B, K]
        log_p = log_weights - 0.5 * distance / total - 0.5 * x.shape[1] * total.log()
        responsibility = torch.softmax(log_p, dim=1)
        posterior = means[None] + (variances[None] / total)[..., None] * (x64[:, None] - means[None])  # [B, K, d]
        return (responsibility[..., None] * posterior).sum(1).to(x.dtype)

    return denoise


def nearest_component(x: Tensor, means: Tensor) -> Tensor:
    """The index of the mixture mean nearest to each point."""
    return torch.cdist(x.double(), means.double()).argmin(1)

"""Gaussian Parzen-window log-likelihood (Breuleux et al. 2011), with Goodfellow et al. (2014)'s protocol."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..progress import batch_count, tracked


def _squared_distances(x: Tensor, samples: Tensor, samples_sq: Tensor) -> Tensor:
    """||x_i - s_j||^2 for a chunk of x against all samples, clamped at 0 against round-off."""
    return (x.pow(2).sum(1, keepdim=True) + samples_sq - 2 * x @ samples.t()).clamp_min_(0)


@torch.no_grad()
def parzen_log_likelihoods(samples: Tensor, data: Tensor, sigmas: Tensor, chunk: int = 200) -> Tensor:
    """log p(x) for each data point under a Parzen window on ``samples``, for each sigma: [S, M].

    log p(x) = logsumexp_j(-||x - s_j||^2 / (2 sigma^2)) - log N - D/2 log(2 pi sigma^2).
    """
    samples, data = samples.flatten(1).double(), data.flatten(1).double()
    n, dims = samples.shape
    samples_sq = samples.pow(2).sum(1)
    sigmas = sigmas.double().to(samples.device)
    out = []
    for start in tracked(range(0, len(data), chunk), batch_count(len(data), chunk), "parzen"):
        d2 = _squared_distances(data[start : start + chunk].to(samples.device), samples, samples_sq)
        scaled = -d2.unsqueeze(0) / (2 * sigmas.view(-1, 1, 1) ** 2)  # [S, chunk, N]
        norm = math.log(n) + 0.5 * dims * torch.log(2 * math.pi * sigmas**2)
        out.append(torch.logsumexp(scaled, dim=2) - norm.view(-1, 1))
    return torch.cat(out, dim=1).cpu()


def parzen_evaluate(samples: Tensor, valid: Tensor, test: Tensor, sigmas: Tensor | None = None) -> dict[str, float]:
    """Pick sigma on validation data, then report mean test log-likelihood and its standard error."""
    sigmas = torch.logspace(-1, 0, 10) if sigmas is None else sigmas
    valid_ll = parzen_log_likelihoods(samples, valid, sigmas).mean(1)
    best = int(valid_ll.argmax())
    sigma = sigmas[best : best + 1]
    test_ll = parzen_log_likelihoods(samples, test, sigma)[0]
    return {
        "log_likelihood": float(test_ll.mean()),
        "stderr": float(test_ll.std() / math.sqrt(len(test_ll))),
        "sigma": float(sigma),
        "valid_log_likelihood": float(valid_ll[best]),
        "samples": len(samples),
        "valid_images": len(valid),
        "test_images": len(test),
    }

"""Likelihood evaluation (Burda et al. 2016 protocol): test ELBO, importance-sampled NLL, active units."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import torch
from torch import Tensor

from ..data import ImageData, batches
from ..ops import log_mean_exp
from ..progress import batch_count, tracked


def nats_to_bits_per_dim(nats: float, dims: int) -> float:
    """bits/dim = nats / (D ln 2)."""
    return nats / (dims * math.log(2))


def _mean_and_stderr(values: Tensor) -> tuple[float, float | None]:
    """The mean and its standard error; None for the error of a single value, which has none."""
    values = values.double()
    stderr = values.std().item() / math.sqrt(len(values)) if len(values) > 1 else None
    return values.mean().item(), stderr


def _prepared_batches(model: Any, data: ImageData, batch_size: int, seed: int, what: str):
    """(x, labels) batches as the model sees them, with seeded randomness that leaves the caller's RNG alone;
    their progress is reported as ``what``."""
    gen = torch.Generator(device=data.device).manual_seed(seed)
    devices = [model.device] if model.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        for x, y in tracked(batches(data, batch_size), batch_count(len(data), batch_size), what):
            yield model.prepare(x.to(model.device), gen), y


@torch.no_grad()
def elbo_terms(model: Any, data: ImageData, batch_size: int = 500, seed: int = 0) -> dict[str, float]:
    """Test -ELBO split into reconstruction (-E_q log p(x|z)) and KL(q(z|x) || p(z)), in nats per image."""
    model.eval()
    offset = model.likelihood.discrete_offset(model.dims)
    recons, kls = [], []
    for x, y in _prepared_batches(model, data, batch_size, seed, "elbo"):
        recon, kl = model.elbo_terms(x, y)
        recons.append(-recon.float().cpu() + offset)
        kls.append(kl.float().cpu())
    recon, kl = torch.cat(recons), torch.cat(kls)
    neg_elbo, stderr = _mean_and_stderr(recon + kl)
    return {
        "neg_elbo": neg_elbo,
        "neg_elbo_stderr": stderr,
        "recon": recon.mean().item(),
        "kl": kl.mean().item(),
        "neg_elbo_bits_per_dim": nats_to_bits_per_dim(neg_elbo, model.dims),
        "images": len(recon),
    }


@torch.no_grad()
def per_image_nll(
    model: Any, data: ImageData, k: int = 5000, batch_size: int = 100, chunk: int = 500, seed: int = 0
) -> Tensor:
    """Per-image -log (1/k) sum_i p(x, z_i) / q(z_i | x), z_i ~ q(z | x) (Burda et al. 2016, Eq. 8), float64."""
    model.eval()
    offset = model.likelihood.discrete_offset(model.dims)
    nlls = []
    for x, y in _prepared_batches(model, data, batch_size, seed, f"nll k={k}"):
        weights = torch.cat([model.log_weights(x, min(chunk, k - done), y) for done in range(0, k, chunk)], dim=1)
        nlls.append(-log_mean_exp(weights.double(), dim=1).cpu() + offset)
    return torch.cat(nlls)


def nll_summary(nlls: Tensor, k: int, dims: int) -> dict[str, float]:
    """Mean NLL over images with its standard error, and bits/dim."""
    nll, stderr = _mean_and_stderr(nlls)
    return {
        "nll": nll,
        "nll_stderr": stderr,
        "bits_per_dim": nats_to_bits_per_dim(nll, dims),
        "k": k,
        "images": len(nlls),
    }


def importance_sampled_nll(
    model: Any, data: ImageData, k: int = 5000, batch_size: int = 100, chunk: int = 500, seed: int = 0
) -> dict[str, float]:
    """Mean importance-sampled test NLL (Burda et al. 2016, Eq. 8) with its standard error."""
    return nll_summary(per_image_nll(model, data, k, batch_size, chunk, seed), k, model.dims)


@torch.no_grad()
def active_units(model: Any, data: ImageData, threshold: float = 0.01, batch_size: int = 500) -> dict[str, Any]:
    """Latent dimension d is active when Var_x(E_q[z_d | x]) > threshold (Burda et al. 2016, Sec. 5.2)."""
    model.eval()
    means = torch.cat(
        [model.encode(x).float().cpu() for x, _ in _prepared_batches(model, data, batch_size, 0, "active units")]
    )
    variance = means.var(0, correction=min(1, len(means) - 1))  # one image: variance 0, not NaN and a warning
    return {"active_units": int((variance > threshold).sum()), "latent_dim": means.shape[1], "threshold": threshold}


@torch.no_grad()
def group_statistics(model: Any, data: ImageData, threshold: float = 0.01, batch_size: int = 500) -> list[dict]:
    """Per latent group of a hierarchical VAE, top-down: its mean KL(q || p) in nats and its active units, the
    dimensions whose posterior mean varies over images by more than ``threshold`` (Burda et al. 2016, Sec. 5.2)."""
    model.eval()
    kls: dict[int, list[Tensor]] = defaultdict(list)
    means: dict[int, list[Tensor]] = defaultdict(list)
    for x, _ in _prepared_batches(model, data, batch_size, 0, "latent groups"):
        for index, (q, p, _) in enumerate(model.posterior_groups(x)):
            kls[index].append(q.kl(p).double().cpu())
            means[index].append(q.mean.flatten(1).float().cpu())
    rows = []
    for kl, mean in zip(kls.values(), means.values()):
        stacked = torch.cat(mean)
        variance = stacked.var(0, correction=min(1, len(stacked) - 1))
        active = int((variance > threshold).sum())
        rows.append({"kl": torch.cat(kl).mean().item(), "active_units": active, "dims": stacked.shape[1]})
    return rows

"""Schedules and floors of the KL term of variational objectives."""

from __future__ import annotations

from torch import Tensor


def linear_warmup(step: int, steps: int) -> float:
    """A KL weight rising linearly from 0 to 1 over the first ``steps`` optimizer steps (Sonderby et al. 2016)."""
    return min(1.0, step / steps) if steps > 0 else 1.0


def free_bits_kl(kls: Tensor, floor: float) -> Tensor:
    """sum_j max(floor, E_x[KL_j]) over groups j of per-image KLs [B, groups] (Kingma et al. 2016, Eq. 15): a group
    whose batch-mean KL is under ``floor`` nats gets no gradient towards the prior; floor 0 gives the batch-mean KL."""
    return kls.mean(0).clamp_min(floor).sum()

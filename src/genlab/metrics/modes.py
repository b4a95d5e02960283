"""Mode coverage on toy mixtures, exactly as in the PacGAN / VEEGAN evaluation code."""
from __future__ import annotations

import torch
from torch import Tensor


def mode_coverage(samples: Tensor, centers: Tensor, std: float) -> dict[str, float]:
    """Modes captured, share of high-quality samples and reverse KL to uniform over modes.

    A sample is high quality when within 3 std of its nearest mode; a mode is captured when it is the
    nearest mode of at least one high-quality sample; the reverse KL compares the histogram of
    high-quality samples over modes with the uniform distribution (Lin et al. 2018, Sec. 5).
    """
    dist = torch.cdist(samples.double(), centers.double())
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist <= 3 * std
    counts = torch.bincount(nearest[good], minlength=len(centers)).double()
    total = counts.sum().item()
    reverse_kl = float("inf")
    if total > 0:
        p = counts[counts > 0] / total
        reverse_kl = float((p * (p * len(centers)).log()).sum())
    return {"modes": int((counts > 0).sum()), "total_modes": len(centers),
            "high_quality": float(good.double().mean()), "reverse_kl": reverse_kl,
            "samples": len(samples)}

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
    return {
        "modes": int((counts > 0).sum()),
        "total_modes": len(centers),
        "high_quality": float(good.double().mean()),
        "reverse_kl": reverse_kl,
        "samples": len(samples),
    }


def stacked_mode_coverage(channel_probs: Tensor, confident: float = 0.9) -> dict[str, float]:
    """Stacked MNIST (Metz et al. 2017; PacGAN Sec. 5): a digit classifier reads each of a sample's three channels
    (``channel_probs`` [N, 3, 10]); the digits name its mode, 100 r + 10 g + b. Modes captured of 1,000 and the
    KL of the mode histogram to the uniform distribution (the "reverse KL" of PacGAN's tables), over all samples
    as in PacGAN; and, which that count hides, the share of channel digits read with confidence below
    ``confident`` and of samples whose three digits all are read confidently (high quality)."""
    confidence, digits = channel_probs.max(dim=-1)
    modes = digits @ torch.tensor([100, 10, 1], device=digits.device)
    total_modes = 10 ** channel_probs.shape[1]
    counts = torch.bincount(modes, minlength=total_modes).double()
    p = counts[counts > 0] / counts.sum()
    sure = confidence >= confident
    return {
        "modes": int((counts > 0).sum()),
        "total_modes": total_modes,
        "high_quality": float(sure.all(dim=1).double().mean()),
        "reverse_kl": float((p * (p * total_modes).log()).sum()),
        "low_confidence": float((~sure).double().mean()),
        "samples": len(channel_probs),
    }

"""Feature-based sample quality: FID, KID, Inception-Score analogue, precision/recall, density/coverage."""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import Tensor

from genlab.errors import GenlabError

BLOCK_ELEMENTS = 2**20  # float64 entries per working block (8 MB; peak use is a few blocks), whatever N and D


def _check_features(features: Tensor, name: str, minimum: int) -> None:
    """Raise a one-line GenlabError unless ``features`` is [N, D] with N >= minimum."""
    if features.dim() != 2:
        raise GenlabError(f"{name} features must be a 2-D [N, D] tensor, got shape {tuple(features.shape)}")
    if len(features) < minimum:
        raise GenlabError(f"{name} features need at least {minimum} samples, got {len(features)}")


def _check_pair(real: Tensor, fake: Tensor, minimum: int) -> None:
    """Both sets valid and of the same feature dimension."""
    _check_features(real, "real", minimum)
    _check_features(fake, "fake", minimum)
    if real.shape[1] != fake.shape[1]:
        raise GenlabError(f"real and fake features differ in dimension: {real.shape[1]} vs {fake.shape[1]}")


def _row_chunk(n_cols: int, chunk: int | None) -> int:
    """Rows per block: ``chunk`` when given, else as many as keep a block near BLOCK_ELEMENTS."""
    return chunk if chunk else max(1, BLOCK_ELEMENTS // max(1, n_cols))


def _distance_blocks(a: Tensor, b: Tensor, chunk: int | None = None) -> Iterator[tuple[int, Tensor]]:
    """Yield (first row, float64 Euclidean distances from a[rows] to all of b), a bounded block at a time."""
    rows = _row_chunk(max(len(b), a.shape[1]), chunk)
    cols = _row_chunk(a.shape[1], chunk)
    for start in range(0, len(a), rows):
        block = a[start : start + rows].double()
        parts = [torch.cdist(block, b[j : j + cols].double()) for j in range(0, len(b), cols)]
        yield start, parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


def _knn_radii(features: Tensor, k: int, chunk: int | None = None) -> Tensor:
    """Distance from each row to its k-th nearest neighbour in the same set, itself excluded (by index)."""
    if not 1 <= k < len(features):
        raise GenlabError(f"k-NN radius needs 1 <= k < number of samples, got k={k} with {len(features)}")
    radii = torch.empty(len(features), dtype=torch.float64, device=features.device)
    for start, dist in _distance_blocks(features, features, chunk):
        rows = torch.arange(len(dist), device=dist.device)
        dist[rows, rows + start] = math.inf
        radii[start : start + len(dist)] = dist.kthvalue(k, dim=1).values
    return radii


def _ball_membership(
    points: Tensor, centres: Tensor, radii: Tensor, strict: bool, chunk: int | None = None
) -> tuple[Tensor, Tensor]:
    """Per point: how many centre balls contain it; per centre: whether any point lies in its ball."""
    counts = torch.zeros(len(points), dtype=torch.long, device=points.device)
    hit = torch.zeros(len(centres), dtype=torch.bool, device=points.device)
    for start, dist in _distance_blocks(points, centres, chunk):
        inside = dist < radii if strict else dist <= radii
        counts[start : start + len(dist)] = inside.sum(1)
        hit |= inside.any(0)
    return counts, hit


def _sqrt_psd(matrix: Tensor) -> Tensor:
    """Symmetric square root of a PSD matrix by eigh, negative round-off eigenvalues clamped to 0."""
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def gaussian_stats(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean [D] and unbiased covariance [D, D] in float64, the Gaussian fit of Heusel et al. 2017 (FID)."""
    _check_features(features, "input", 2)
    rows = _row_chunk(features.shape[1], None)
    mean = sum(features[i : i + rows].double().sum(0) for i in range(0, len(features), rows)) / len(features)
    cov = features.new_zeros(features.shape[1], features.shape[1], dtype=torch.float64)
    for i in range(0, len(features), rows):
        centred = features[i : i + rows].double() - mean
        cov += centred.T @ centred
    return mean, cov / (len(features) - 1)


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """||mu1-mu2||^2 + tr S1 + tr S2 - 2 tr (S1 S2)^(1/2) (Dowson & Landau 1982; Heusel et al. 2017)."""
    mu1, mu2 = mu1.double(), mu2.double()
    sigma1, sigma2 = sigma1.double(), sigma2.double()
    root1 = _sqrt_psd(sigma1)  # eigh and eigvalsh read only the lower triangle: no symmetrising copies
    middle = root1 @ sigma2 @ root1  # similar to S1 S2, but symmetric PSD: real eigenvalues
    tr_covmean = torch.linalg.eigvalsh(middle).clamp_min(0).sqrt().sum()
    diff = mu1 - mu2
    value = diff.dot(diff) + sigma1.trace() + sigma2.trace() - 2 * tr_covmean
    return max(float(value), 0.0)  # a negative value can only be round-off


def fid(real_features: Tensor, fake_features: Tensor) -> dict:
    """FID: Fréchet distance of Gaussian fits to two feature sets (Heusel et al. 2017, arXiv:1706.08500)."""
    _check_pair(real_features, fake_features, 2)
    value = frechet_distance(*gaussian_stats(real_features), *gaussian_stats(fake_features))
    dims = real_features.shape[1]
    result = {"fid": value, "real": len(real_features), "fake": len(fake_features), "dims": dims}
    if min(len(real_features), len(fake_features)) <= dims:
        result["warning"] = (
            f"covariance is rank-deficient: {min(len(real_features), len(fake_features))} "
            f"samples for {dims} feature dimensions; FID is unreliable"
        )
    return result


def _mmd2_unbiased(x: Tensor, y: Tensor) -> float:
    """Unbiased MMD^2 with the cubic polynomial kernel k(a, b) = (a.b/d + 1)^3, equal set sizes."""
    m, dims = x.shape
    k_xx = (x @ x.T / dims + 1) ** 3
    k_yy = (y @ y.T / dims + 1) ** 3
    k_xy = (x @ y.T / dims + 1) ** 3
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return float(within - 2 * k_xy.mean())


def kid(real: Tensor, fake: Tensor, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> dict:
    """KID: unbiased MMD^2, cubic kernel, mean/std over subsets (Binkowski et al. 2018, arXiv:1801.01401)."""
    _check_pair(real, fake, 1)
    size = min(subset_size, len(real), len(fake))
    if size < 2 or subsets < 1:
        raise GenlabError(f"KID needs subsets >= 1 of at least 2 samples, got {subsets} of {size}")
    gen = torch.Generator().manual_seed(seed)
    values = torch.tensor(
        [
            _mmd2_unbiased(
                real[torch.randperm(len(real), generator=gen)[:size]].double(),
                fake[torch.randperm(len(fake), generator=gen)[:size]].double(),
            )
            for _ in range(subsets)
        ],
        dtype=torch.float64,
    )
    return {
        "kid": float(values.mean()),
        "kid_std": float(values.std(correction=0)),
        "subsets": subsets,
        "subset_size": size,
    }


def classifier_score(logits: Tensor, splits: int = 10) -> dict:
    """Inception-Score analogue exp(E_x KL(p(y|x) || p(y))) per split (Salimans et al. 2016, Sec. 4).

    ``logits`` are unnormalised class scores [N, C]; log_softmax is applied, so pass probabilities as
    ``probs.log()``. As in the reference code, the N // splits * splits first rows form ``splits`` equal
    parts, p(y) is the mean prediction within a part, and mean and population std are over parts.
    """
    _check_features(logits, "classifier", max(1, splits))
    if splits < 1:
        raise GenlabError(f"classifier_score needs splits >= 1, got {splits}")
    size = len(logits) // splits
    log_p = torch.log_softmax(logits[: size * splits].double(), dim=1).view(splits, size, -1)
    log_marginal = torch.logsumexp(log_p, dim=1, keepdim=True) - math.log(size)
    p = log_p.exp()
    kl = torch.where(p > 0, p * (log_p - log_marginal), torch.zeros_like(p)).sum(2).mean(1)
    scores = kl.exp()
    return {"is": float(scores.mean()), "is_std": float(scores.std(correction=0)), "splits": splits}


def precision_recall(real: Tensor, fake: Tensor, k: int = 3, chunk: int | None = None) -> dict:
    """Improved precision/recall: k-NN balls, <= membership (Kynkäänniemi et al. 2019, arXiv:1904.06991)."""
    _check_pair(real, fake, 1)
    fake_in_real, _ = _ball_membership(fake, real, _knn_radii(real, k, chunk), strict=False, chunk=chunk)
    real_in_fake, _ = _ball_membership(real, fake, _knn_radii(fake, k, chunk), strict=False, chunk=chunk)
    return {
        "precision": float((fake_in_real > 0).double().mean()),
        "recall": float((real_in_fake > 0).double().mean()),
        "k": k,
    }


def density_coverage(real: Tensor, fake: Tensor, k: int = 5, chunk: int | None = None) -> dict:
    """Density and coverage: real k-NN balls, strict < membership (Naeem et al. 2020, arXiv:2002.09797)."""
    _check_pair(real, fake, 1)
    counts, covered = _ball_membership(fake, real, _knn_radii(real, k, chunk), strict=True, chunk=chunk)
    return {"density": float(counts.sum()) / (k * len(fake)), "coverage": float(covered.double().mean()), "k": k}

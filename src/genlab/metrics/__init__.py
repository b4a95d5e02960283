"""Evaluation metrics: likelihood bounds and estimates; feature-based sample quality; mode coverage (toy mixtures,
Stacked MNIST); the sliced Wasserstein distance on Laplacian-pyramid patches."""

from .likelihood import (
    active_units,
    elbo_terms,
    group_statistics,
    importance_sampled_nll,
    nats_to_bits_per_dim,
    nll_summary,
    per_image_nll,
)
from .modes import mode_coverage, stacked_mode_coverage
from .quality import classifier_score, density_coverage, fid, frechet_distance, gaussian_stats, kid, precision_recall
from .swd import laplacian_pyramid, sliced_wasserstein, swd, wasserstein_1d

__all__ = [
    "active_units",
    "classifier_score",
    "density_coverage",
    "elbo_terms",
    "fid",
    "frechet_distance",
    "gaussian_stats",
    "group_statistics",
    "importance_sampled_nll",
    "kid",
    "laplacian_pyramid",
    "mode_coverage",
    "nats_to_bits_per_dim",
    "nll_summary",
    "per_image_nll",
    "precision_recall",
    "sliced_wasserstein",
    "stacked_mode_coverage",
    "swd",
    "wasserstein_1d",
]

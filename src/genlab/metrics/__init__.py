"""Evaluation metrics: likelihood bounds and estimates; feature-based sample quality."""

from .likelihood import (
    active_units,
    elbo_terms,
    importance_sampled_nll,
    nats_to_bits_per_dim,
    nll_summary,
    per_image_nll,
)
from .quality import classifier_score, density_coverage, fid, frechet_distance, gaussian_stats, kid, precision_recall

__all__ = [
    "active_units",
    "classifier_score",
    "density_coverage",
    "elbo_terms",
    "fid",
    "frechet_distance",
    "gaussian_stats",
    "importance_sampled_nll",
    "kid",
    "nats_to_bits_per_dim",
    "nll_summary",
    "per_image_nll",
    "precision_recall",
]

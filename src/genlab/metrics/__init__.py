"""Evaluation metrics: likelihood bounds and estimates for latent-variable models."""
from .likelihood import (active_units, elbo_terms, importance_sampled_nll, nats_to_bits_per_dim, nll_summary,
                         per_image_nll)

__all__ = ["active_units", "elbo_terms", "importance_sampled_nll", "nats_to_bits_per_dim", "nll_summary",
           "per_image_nll"]

"""Pure functions over a trained model: sample, interpolate, traverse the latent space (latent.py), translate
(translation.py), and generate by Plug & Play (plug_and_play.py)."""
from .latent import (class_grid, class_labels, decode_in_class, domain_options, encode_images, interpolate,
                     interpolate_codes, manifold_grid, paired_samples, path_labels, prior_codes, sample_batches,
                     sample_images, sample_labels, seeded, traverse)
from .plug_and_play import (PNP_EPS, PNP_MAX_STEP, PlugAndPlayResult, clip_norm, guide_log_prob, plug_and_play,
                            prior_score, recorded_steps)
from .translation import check_direction, round_trip, seeded_styles, translate_images

__all__ = ["PNP_EPS", "PNP_MAX_STEP", "PlugAndPlayResult", "check_direction", "class_grid", "class_labels",
           "clip_norm", "decode_in_class", "domain_options", "encode_images", "guide_log_prob", "interpolate",
           "interpolate_codes", "manifold_grid", "paired_samples", "path_labels", "plug_and_play", "prior_codes",
           "prior_score", "recorded_steps", "round_trip", "sample_batches", "sample_images", "sample_labels", "seeded",
           "seeded_styles", "translate_images", "traverse"]

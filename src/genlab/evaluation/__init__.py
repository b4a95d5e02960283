"""`genlab eval`: score a run with named metrics, print a table, write eval.json with provenance.

One record per metric (records.py) says what it needs, how it computes, its headline numbers and how it
prints; the metric families register theirs in likelihood.py, samples.py and translators.py.
"""
from . import likelihood, samples, translators  # noqa: F401  (registration order = table and column order)
from .context import DIGIT_DATA, EvalContext, EvalOptions, domain_names, draw_samples, resolve_extractor
from .records import METRICS, Metric, family, get_metric, register_metric, scored_weights
from .scoring import default_metrics, evaluate, parse_metrics, score
from .table import format_table

HEADLINE = {name: metric.headline for name, metric in METRICS.items()}  # the numbers compare shows per metric
FEATURE_METRICS = tuple(name for name, metric in METRICS.items() if metric.features)  # scores of one extractor

__all__ = ["DIGIT_DATA", "EvalContext", "EvalOptions", "FEATURE_METRICS", "HEADLINE", "METRICS", "Metric",
           "default_metrics", "domain_names", "draw_samples", "evaluate", "family", "format_table", "get_metric",
           "parse_metrics", "register_metric", "resolve_extractor", "score", "scored_weights"]

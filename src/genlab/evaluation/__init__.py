"""`genlab eval`: score a run with named metrics, print a table, write eval.json with provenance.

One record per metric (records.py) says what it needs, how it computes, its headline numbers and how it
prints; the metric families register theirs in likelihood.py, samples.py and translators.py. Importing this
package imports every module in it, in the order of their file names (registration order = table and column
order), so adding a metric means adding one file (docs/extending.md, "Adding a metric").
"""

from ..registry import import_modules
from .context import EvalContext, EvalOptions, domain_names, draw_samples, resolve_extractor
from .records import METRICS, Metric, family, get_metric, register_metric, scored_weights
from .scoring import default_metrics, evaluate, parse_metrics, score
from .table import format_table

import_modules(__name__, __path__)

HEADLINE = {name: metric.headline for name, metric in METRICS.items()}  # the numbers compare shows per metric
FEATURE_METRICS = tuple(name for name, metric in METRICS.items() if metric.features)  # scores of one extractor

__all__ = [
    "FEATURE_METRICS",
    "HEADLINE",
    "METRICS",
    "EvalContext",
    "EvalOptions",
    "Metric",
    "default_metrics",
    "domain_names",
    "draw_samples",
    "evaluate",
    "family",
    "format_table",
    "get_metric",
    "parse_metrics",
    "register_metric",
    "resolve_extractor",
    "score",
    "scored_weights",
]

"""One record per metric: what it needs, how it computes, its headline numbers and how it prints.

Scoring (scoring.py), the table of ``genlab eval`` (table.py), training-time evaluation and ``genlab compare``
all read these records, so adding a metric means registering one ``Metric``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..registry import Registry

DRAWS_SAMPLES = ("sample", "it draws samples")


@dataclass(frozen=True)
class Metric:
    """A named score of a model (see the module docstring)."""

    name: str
    compute: Callable[[Any], dict[str, Any]]  # EvalContext -> result fields ("_provenance": extra provenance)
    headline: tuple[str, ...]  # the numbers compare and training-time evaluation show
    rows: Callable[[dict], list[tuple[str, str]]]  # result -> (label, value) rows of the eval table
    family: str  # likelihood | quality | parzen | modes | translation: which runs score it by default
    needs: tuple[str, str] | None = DRAWS_SAMPLES  # (model method, why), checked before any work
    spread: dict[str, str] = field(default_factory=dict)  # headline field -> the field of its ± spread
    features: bool = False  # computed on extractor features: compare never mixes extractors in one column
    scores_data: bool = False  # scores the run's split itself, loaded once for all such metrics
    directions: tuple[str, ...] = ()  # translation metrics: the directions the model must translate
    note: Callable[[dict], str] | None = None  # a line under the table: what was scored
    note_group: str = ""  # metrics of one group print the note of the first of them present, once
    display_scale: float = 1.0  # compare shows headline numbers (and spreads) times this, like the eval table


METRIC_RECORDS: Registry[Metric] = Registry("metric")
METRICS = METRIC_RECORDS.entries  # name -> record, read-only, in registration order


def plus_minus(value: float, spread: float | None, digits: int = 2) -> str:
    """``12.34 ± 0.56``; the value alone when there is no spread (one image has no standard error)."""
    shown = f"{value:.{digits}f}"
    return shown if spread is None else f"{shown} ± {spread:.{digits}f}"


def register_metric(metric: Metric) -> Metric:
    """Add ``metric`` to the records (its registration order is the order of tables and columns)."""
    return METRIC_RECORDS.register(metric.name, metric)


def get_metric(name: str) -> Metric:
    """The record of ``name``; one clear line for unknown names."""
    return METRIC_RECORDS.get(name)


def scored_weights(entry: dict[str, Any]) -> str | None:
    """The sha256 of the weights an eval.json entry scored (None when it predates that record)."""
    provenance = entry.get("provenance")
    return provenance.get("weights_sha256") if isinstance(provenance, dict) else None


def family(name: str) -> list[str]:
    """Names of the metrics of one family, in registration order."""
    return [m.name for m in METRICS.values() if m.family == name]

"""What a run folder says about its training and scores: metrics.jsonl and eval.json, as JSON-safe objects, and
its training curves as SVG (genlab.charts, as in reports)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ...charts import curve_series, line_chart, step_span
from ...evaluation import METRICS, scored_weights
from ...files import read_json
from ...runs import EVAL as EVAL_FILE
from ...viz import run_records
from .limits import NotFound

CURVE_SIZE = (720, 320)  # the studio's chart in pixels (the page scales it to its width)


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float as None (JSON has no NaN or infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def training_records(folder: Path) -> dict[str, list[dict]]:
    """``{"epochs": [...], "steps": [...]}`` from the run's metrics.jsonl (damaged lines skipped)."""
    records = run_records(folder)
    return {
        "epochs": json_safe([r for r in records if r.get("kind") == "epoch"]),
        "steps": json_safe([r for r in records if r.get("kind") == "step"]),
    }


def curve_names(folder: Path) -> list[str]:
    """The quantities the run's training records chart (losses first), as reports draw them."""
    return list(curve_series(run_records(folder)))


def curve_svg(folder: Path, run_name: str, name: str) -> str:
    """The chart of one quantity of the run's training records, as an SVG file: its steps' line and its epochs'
    train and test values over all the steps logged; a 404 line for a quantity the records do not hold."""
    records = run_records(folder)
    series = curve_series(records)
    if name not in series:
        known = ", ".join(series) or "none yet"
        raise NotFound(f"run {run_name!r} has no curve {name[:60]!r}; its curves: {known}")
    return line_chart(name, series[name], *CURVE_SIZE, x_range=step_span(records), standalone=True)


def trained_epochs(folder: Path) -> int:
    """The last epoch metrics.jsonl records (0 before the first one)."""
    epochs = training_records(folder)["epochs"]
    last = epochs[-1].get("epoch") if epochs else 0
    return last if isinstance(last, int) else 0


def read_eval(folder: Path) -> tuple[dict[str, Any], list[str]]:
    """The entries of eval.json and notes on what could not be read of it."""
    path = folder / EVAL_FILE
    if not path.is_file():
        return {}, []
    try:
        entries = read_json(path)
    except (ValueError, OSError):
        return {}, [f"{EVAL_FILE} is damaged; score the run again with genlab eval"]
    if not isinstance(entries, dict):
        return {}, [f"{EVAL_FILE} is not an object of metric results; score the run again with genlab eval"]
    return {k: v for k, v in entries.items() if isinstance(v, dict)}, []


def eval_summary(folder: Path, weights_sha256: str) -> dict[str, Any]:
    """The eval table of the served weights: rows (label, value), the notes under it, and the metrics scored
    on other weights (left out of the rows)."""
    entries, notes = read_eval(folder)
    stale = sorted(k for k, v in entries.items() if v.get("stale") or scored_weights(v) not in (None, weights_sha256))
    rows: list[list[str]] = []
    noted: set[str] = set()
    for key in sorted((k for k in entries if k not in stale and k.partition("@")[0] in METRICS), key=_table_order):
        metric = METRICS[key.partition("@")[0]]
        try:
            rows += metric_rows(key, entries[key])
            if metric.note is not None and metric.note_group not in noted:
                notes.append(str(metric.note(entries[key])))
                noted.add(metric.note_group)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            notes.append(f"the {key} entry of {EVAL_FILE} is damaged; score it again with genlab eval")
    return {"rows": rows, "notes": notes, "stale": stale}


def metric_rows(key: str, entry: dict[str, Any]) -> list[list[str]]:
    """The (label, value) rows of one eval.json entry; a score of another feature network (``fid@inception``)
    names it in its labels."""
    name, _, extractor = key.partition("@")
    suffix = f" @{extractor}" if extractor else ""
    return [[str(label) + suffix, str(value)] for label, value in METRICS[name].rows(entry)]


def _table_order(key: str) -> tuple[int, str]:
    """Metrics in the order of genlab eval's table (their registration order), then by key."""
    order = list(METRICS)
    name = key.partition("@")[0]
    return (order.index(name) if name in order else len(order), key)

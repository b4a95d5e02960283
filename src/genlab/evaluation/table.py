"""The plain-text table of ``genlab eval``, drawn from the metric records."""

from __future__ import annotations

from typing import Any

from .records import METRICS


def format_table(results: dict[str, Any]) -> str:
    """A plain-text table of the headline numbers, then one line per group on what was scored."""
    scored = [metric for name, metric in METRICS.items() if name in results]
    rows = [row for metric in scored for row in metric.rows(results[metric.name])]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    noted: set[str] = set()
    for metric in scored:
        if metric.note is not None and metric.note_group not in noted:
            noted.add(metric.note_group)
            lines.append(metric.note(results[metric.name]))
    return "\n".join(lines)

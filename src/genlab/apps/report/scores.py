"""The eval table of a report: RUN/eval.json drawn through the metric records, each number with its provenance,
scores of weights the run no longer has marked stale (the rule of genlab compare)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...evaluation import METRICS, scored_weights
from ...files import read_json
from .page import note, section, table, text

HEADER = ["metric", "numbers", "features", "images / samples", "weights scored", "status"]


def scores_section(run: Path, current_weights: str) -> str:
    """The "Scores" section: the eval table, or a line saying how to get one."""
    path = run / "eval.json"
    if not path.is_file():
        return section("Scores", note(f"not scored yet: genlab eval {run}", "missing"))
    try:
        results = read_json(path)
    except (OSError, ValueError):
        results = None
    entries = {key: r for key, r in results.items() if isinstance(r, dict)} if isinstance(results, dict) else {}
    if not entries:
        return section(
            "Scores",
            note(f"{path.name} holds no scores genlab can read; score the run again: genlab eval {run}", "missing"),
        )
    keys = sorted(entries, key=metric_order)
    stale = [is_stale(entries[key], current_weights) for key in keys]
    rows = [score_row(key, entries[key], old) for key, old in zip(keys, stale)]
    notes = [note(line) for line in metric_notes(entries, keys, stale)]
    if any(stale):
        notes.append(note("stale: scored on earlier weights of this run; genlab eval scores the current ones"))
    return section("Scores", table(HEADER, rows, ["stale" if old else "" for old in stale], "scores"), *notes)


def metric_order(key: str) -> tuple[int, str]:
    """eval.json keys in the order of the metric records (``fid@extractor`` right after ``fid``)."""
    names = list(METRICS)
    name = key.split("@", 1)[0]
    return (names.index(name) if name in names else len(names), key)


def is_stale(entry: dict[str, Any], current_weights: str) -> bool:
    """Scored on weights other than the run's current ones (entries older than that record are not)."""
    return scored_weights(entry) not in (None, current_weights)


def score_row(key: str, entry: dict[str, Any], stale: bool) -> list[str]:
    """One eval.json entry: its numbers as ``genlab eval`` prints them, then where they come from."""
    prov = entry.get("provenance") if isinstance(entry.get("provenance"), dict) else {}
    status = "stale" if stale else ("current" if scored_weights(entry) else "weights not recorded")
    details = f"<details><summary>provenance</summary><pre>{text(json.dumps(prov, indent=1))}</pre></details>"
    return [
        f"<code>{text(key)}</code>",
        "<br>".join(text(line) for line in number_lines(key, entry)),
        text(features(prov)),
        text(counts(entry, prov)),
        weights_cell(prov),
        f'<span class="badge">{status}</span>{details}',
    ]


def number_lines(key: str, entry: dict[str, Any]) -> list[str]:
    """The rows the metric's record prints (``label  value``); the raw numbers of an entry it cannot print."""
    metric = METRICS.get(key.split("@", 1)[0])
    try:
        return [f"{label}: {value}" for label, value in metric.rows(entry)] if metric else []
    except (KeyError, TypeError, ValueError):
        pass
    return [f"{field}: {value}" for field, value in entry.items() if isinstance(value, (int, float, str))]


def features(prov: dict[str, Any]) -> str:
    """The feature network a score was computed on, with the start of its sha256."""
    if "extractor" not in prov:
        return "-"
    return f"{prov['extractor']} {str(prov.get('extractor_sha256', ''))[:12]}".strip()


def counts(entry: dict[str, Any], prov: dict[str, Any]) -> str:
    """How many images, samples (and importance samples k) a number rests on."""
    parts = []
    if "generated_images" in prov:
        parts.append(
            f"{prov['generated_images']} samples vs {prov.get('real_images', '?')} "
            f"{prov.get('reference', 'real')} images"
        )
    elif "samples" in entry:
        parts.append(f"{entry['samples']} samples")
    if "images" in prov and "generated_images" not in prov:
        parts.append(f"{prov['images']} {prov.get('split', '')} images".replace("  ", " "))
    if "k" in entry:
        parts.append(f"k={entry['k']}")
    return ", ".join(parts) or "-"


def weights_cell(prov: dict[str, Any]) -> str:
    """The sha256 of the scored weights (start shown, all of it on hover) and the step they were saved at."""
    digest = prov.get("weights_sha256")
    if not digest:
        return "-"
    saved = f" step {prov['step']}, epoch {prov.get('epoch', '?')}" if prov.get("step") is not None else ""
    return f'<code title="{text(digest)}">{text(str(digest)[:12])}</code>{text(saved)}'


def metric_notes(entries: dict[str, dict], keys: list[str], stale: list[bool]) -> list[str]:
    """The lines under genlab eval's table (what was scored) of the current scores, each once."""
    lines = []
    for key, old in zip(keys, stale):
        metric = METRICS.get(key.split("@", 1)[0])
        if old or metric is None or metric.note is None:
            continue
        try:
            lines.append(metric.note(entries[key]))
        except (KeyError, TypeError, ValueError):
            continue
    return list(dict.fromkeys(lines))

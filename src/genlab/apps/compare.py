"""`genlab compare`: one table over scored runs (markdown or CSV). Numbers share a column only when they are
alike -- the same feature extractor, sample count and (for the NLL) k -- and scores of weights a run no longer
has are left out and listed."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..errors import GenlabError
from ..evaluation import METRICS, scored_weights
from ..files import read_json
from ..runs import CONFIG, checkpoint_dir, load_config, weights_identity
from ..viz import read_metrics


def run_summary(run: str | Path) -> dict[str, Any]:
    """Config, training time and eval.json of one run folder."""
    run = Path(run)
    config_path = checkpoint_dir(run) / CONFIG
    if not config_path.is_file():
        raise GenlabError(f"{run} is not a genlab run (no {CONFIG})")
    scored = run / "eval.json"
    if not scored.is_file():
        raise GenlabError(f"{run} has no eval.json; score it first with: genlab eval {run}")
    try:
        results = read_json(scored)
    except ValueError:
        raise GenlabError(f"{scored} is not valid JSON; score the run again with genlab eval") from None
    if not isinstance(results, dict) or not all(isinstance(r, dict) for r in results.values()):
        raise GenlabError(
            f"{scored} is not a genlab eval.json (an object of metric results); score the run again with genlab eval"
        )
    config = load_config(config_path)
    current = weights_identity(run)["weights_sha256"]
    stale = {m: r for m, r in results.items() if scored_weights(r) not in (None, current)}
    results = {m: r for m, r in results.items() if m not in stale}
    epochs = read_metrics(run / "metrics.jsonl") if (run / "metrics.jsonl").is_file() else []
    epochs = [r for r in epochs if r.get("kind") == "epoch" and isinstance(r.get("epoch"), int)]
    seconds = [r.get("seconds") for r in epochs]
    return {
        "run": run.name or str(run),
        "model": _model_label(config),
        "data": config.data.name,
        "epochs": epochs[-1]["epoch"] if epochs else 0,
        "train_s": round(sum(s for s in seconds if isinstance(s, (int, float))), 1),
        "results": results,
        "stale": stale,
    }


def _model_label(config: RunConfig) -> str:
    objective = getattr(config.model, "objective", None)
    return f"{config.model_name} ({objective})" if objective else config.model_name


def _columns(summaries: list[dict]) -> list[tuple[str, str, str | None]]:
    """(metric, field, identity-or-None) for every headline number any run has, in the records' order; a
    metric scored in unlike ways (another extractor, sample count, k) gets one set of columns per way."""
    columns = []
    for metric, record in METRICS.items():
        scores = [r for s in summaries for r in _scores(s, metric)]
        identities = sorted({_identity(r) for r in scores}, key=str)
        split = len(identities) > 1
        fields = [f for f in record.headline if any(f in r for r in scores)]
        for identity in identities[: None if split else 1]:
            columns += [(metric, field, identity if split else None) for field in fields]
    return columns


def _scores(summary: dict, metric: str) -> list[dict]:
    """A run's results of one metric: eval.json keys ``metric`` and ``metric@extractor``."""
    return [r for key, r in summary["results"].items() if key.split("@", 1)[0] == metric]


def _identity(result: dict) -> str:
    """What makes two scores of one metric comparable: the extractor, the number of images or samples, k."""
    prov = _provenance(result)
    parts = [_extractor(result) or ""]
    count = prov.get("generated_images", result.get("samples", prov.get("images")))
    parts += [f"n={count}" if count is not None else "", f"k={result['k']}" if "k" in result else ""]
    parts += [str(prov.get("sampling", ""))]  # a diffusion model's sampler
    return " ".join(p for p in parts if p)


def _extractor(result: dict) -> str | None:
    prov = _provenance(result)
    return f"{prov['extractor']}:{str(prov.get('extractor_sha256', ''))[:8]}" if "extractor" in prov else None


def _provenance(result: dict) -> dict:
    """What a result was computed on (an empty record when eval.json holds something else there)."""
    prov = result.get("provenance")
    return prov if isinstance(prov, dict) else {}


def _cell(summary: dict, metric: str, field: str, identity: str | None, separate_spread: bool = False) -> list[str]:
    spread_field = METRICS[metric].spread.get(field)
    result = next((r for r in _scores(summary, metric) if identity is None or _identity(r) == identity), None)
    if result is None or field not in result:
        return [""] * (2 if separate_spread and spread_field else 1)
    scale = METRICS[metric].display_scale
    value, spread = result[field], result.get(spread_field or "", None)
    value = value * scale if isinstance(value, float) else value
    spread = spread * scale if isinstance(spread, float) else spread
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    if separate_spread:  # CSV: the spread gets its own column, so every cell stays a number
        return [text, f"{spread:.4g}" if isinstance(spread, float) else ""] if spread_field else [text]
    return [f"{text} ± {spread:.2g}" if isinstance(spread, float) else text]


def compare_runs(runs: list[str | Path], fmt: str = "markdown") -> str:
    """A table with one row per run: model, data, epochs, training seconds and every headline metric."""
    summaries = [run_summary(run) for run in runs]
    columns = _columns(summaries)
    csv_format = fmt == "csv"
    header = ["run", "model", "data", "epochs", "train s"]
    for metric, field, identity in columns:
        scale = METRICS[metric].display_scale
        name = field + (f" ×{scale:g}" if scale != 1 else "") + (f" [{identity}]" if identity else "")
        header += [name, f"{name} ±"] if csv_format and field in METRICS[metric].spread else [name]
    rows = [
        [s["run"], s["model"], s["data"], str(s["epochs"]), str(s["train_s"])]
        + [text for column in columns for text in _cell(s, *column, csv_format)]
        for s in summaries
    ]
    if csv_format:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([header] + rows)
        return out.getvalue().rstrip("\n")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    extractors = sorted(
        {
            i
            for s in summaries
            for m, record in METRICS.items()
            if record.features
            for i in map(_extractor, _scores(s, m))
            if i
        }
    )
    if len(extractors) == 1:
        lines.append(f"\nfeatures: {extractors[0]}")
    lines += [
        f"\nleft out, scored on earlier weights: {s['run']}: {', '.join(sorted(s['stale']))} (genlab eval "
        "scores the current weights)"
        for s in summaries
        if s["stale"]
    ]
    return "\n".join(lines)

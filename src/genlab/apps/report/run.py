"""The report of one run folder: what it is, its scores, its curves, its pictures per epoch, its epochs and
its config."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

from ...charts import BOOKKEEPING, training_charts
from ...config import RunConfig
from ...runs import load_config, weights_identity
from ...version import __version__
from ...viz import is_finite_number, of_kind, run_records
from .page import embedded_picture, note, page, section, table, text
from .scores import scores_section

EPOCH_PICTURE = re.compile(r"epoch_(\d+)\.png")  # what training writes into samples/, reconstructions/, ...
LOOSE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")  # pictures genlab sample / latent wrote into the run folder
LOOSE_SHOWN, EPOCHS_SHOWN = 12, 4
OLD_LOSS_CURVE = "loss_curve.png"  # the loss picture of runs trained before loss_curve.svg: no loose picture


def run_report(run: str | Path) -> str:
    """The self-contained HTML report of a run folder; one line (GenlabError) for a folder that is not a run."""
    run = Path(run)
    weights = weights_identity(run)
    config = load_config(run)
    records = run_records(run)
    body = [
        header(run, config, records, weights),
        scores_section(run, weights["weights_sha256"]),
        curves_section(records),
        pictures_section(run),
        epochs_section(records),
        config_section(config),
    ]
    return page(f"{run_name(run)}: genlab report", body)


def run_name(run: Path) -> str:
    """The run folder's name (of the resolved path for ``.``)."""
    return run.name or run.resolve().name or str(run)


def header(run: Path, config: RunConfig, records: list[dict], weights: dict[str, Any]) -> str:
    """The run's name and the facts a reader looks for first."""
    epochs = of_kind(records, "epoch")
    objective = getattr(config.model, "objective", None)
    seconds = sum(r["seconds"] for r in epochs if is_finite_number(r.get("seconds")))
    trained = (
        f"{epochs[-1].get('epoch', '?') if epochs else 0} of {config.train.epochs} epochs, "
        f"{weights['step'] if weights['step'] is not None else '?'} steps, {seconds:.1f} s of training"
    )
    saved = f" (step {weights['step']}, epoch {weights['epoch']})" if weights["step"] is not None else ""
    facts = [
        ("model", config.model_name + (f" ({objective})" if objective else "")),
        ("data", config.data.name),
        ("trained", trained),
        ("weights sha256", weights["weights_sha256"] + saved),
        ("folder", str(run)),
    ]
    rollbacks = sum(r.get("kind") == "rollback" for r in records)
    if rollbacks:
        facts.append(("roll-backs", f"{rollbacks} (non-finite losses; learning rate halved each time)"))
    if epochs and warnings_text(epochs[-1]):
        facts.append(("warnings (last epoch)", warnings_text(epochs[-1])))
    made = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    facts.append(("report", f"genlab {__version__}, {made}"))
    return f"<h1>{text(run_name(run))}</h1>" + table([], [[text(k), text(v)] for k, v in facts], css="facts")


def curves_section(records: list[dict[str, Any]]) -> str:
    """One chart per logged quantity, against the optimizer step."""
    charts = [chart for chart in training_charts(records).values() if chart]
    if not charts:
        return section("Curves", note("no training records yet (metrics.jsonl)"))
    return section(
        "Curves",
        note(
            "lines through the logged steps (means since the previous one); dots: the epoch "
            "records (train means, test scores)"
        ),
        f'<div class="charts">{"".join(charts)}</div>',
    )


def picture_folders(run: Path) -> dict[str, dict[int, Path]]:
    """Folder name -> {epoch: picture} of every folder of per-epoch pictures (samples first)."""
    found = {}
    for folder in sorted((p for p in run.iterdir() if p.is_dir()), key=lambda p: (p.name != "samples", p.name)):
        pictures = {int(m[1]): f for f in folder.iterdir() if (m := EPOCH_PICTURE.fullmatch(f.name))}
        if pictures:
            found[folder.name] = pictures
    return found


def shown_epochs(epochs: list[int], keep: int = EPOCHS_SHOWN) -> list[int]:
    """The first and last of sorted ``epochs`` and a few evenly spaced between them."""
    if len(epochs) <= keep:
        return epochs
    return sorted({epochs[round(i * (len(epochs) - 1) / (keep - 1))] for i in range(keep)})


def pictures_section(run: Path) -> str:
    """Each picture folder's last epoch and a few earlier ones, then pictures made with genlab sample / latent."""
    parts = []
    for folder, pictures in picture_folders(run).items():
        epochs = shown_epochs(sorted(pictures))
        figures = [embedded_picture(pictures[e], f"epoch {e}" + (" (last)" if e == epochs[-1] else "")) for e in epochs]
        parts.append(f'<h3>{text(folder.replace("_", " "))}</h3><div class="pictures">{"".join(figures)}</div>')
    loose = sorted(p for p in run.iterdir() if p.suffix.lower() in LOOSE_SUFFIXES and p.name != OLD_LOSS_CURVE)
    if loose:
        figures = "".join(embedded_picture(p, p.name) for p in loose[:LOOSE_SHOWN])
        parts.append(f'<h3>made with genlab sample / latent</h3><div class="pictures">{figures}</div>')
    return section("Pictures", *(parts or [note("no pictures yet")]))


def epochs_section(records: list[dict[str, Any]]) -> str:
    """A table of the epoch records: step, test loss, time, speed, skipped steps and warnings."""
    epochs = of_kind(records, "epoch")
    if not epochs:
        return ""
    fields = [f for f in ("test/loss",) + BOOKKEEPING if any(f in r for r in epochs)]
    rows = [
        [text(r.get("epoch", "")), text(r["step"])]
        + [text(number_text(r.get(f))) for f in fields]
        + [text(warnings_text(r))]
        for r in epochs
    ]
    body = table(["epoch", "step"] + fields + ["warnings"], rows)
    return section("Epochs", f"<details><summary>{len(epochs)} epoch records</summary>{body}</details>")


def warnings_text(record: dict[str, Any]) -> str:
    """An epoch record's warnings, one after another."""
    warnings = record.get("warnings")
    return "; ".join(map(str, warnings)) if isinstance(warnings, list) else str(warnings or "")


def number_text(value: Any) -> str:
    """A logged number as the table shows it (``-`` when missing)."""
    if value is None:
        return "-"
    return f"{value:.5g}" if isinstance(value, float) else str(value)


def config_section(config: RunConfig) -> str:
    """Every option of the run, as ``--set`` names it."""
    options = config.to_dict()
    tables = [
        table(
            ["option", "value"],
            [
                [f"<code>{text(f'{part}.{key}')}</code>", text(option_text(value))]
                for key, value in options[part].items()
            ],
        )
        for part in ("model", "data", "train")
    ]
    return section(
        "Config",
        note(f"model {config.model_name}; change an option with --set OPTION=VALUE"),
        f'<div class="config">{"".join(tables)}</div>',
    )


def option_text(value: Any) -> str:
    """An option's value as ``--set`` takes it: true/false, none, comma-separated lists."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ",".join(map(option_text, value))
    return json.dumps(value) if isinstance(value, dict) else str(value)

"""`genlab compare --html`: compare's table (its columns, identities and stale rule) as a page, with each run's
latest samples and loss curve."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ...charts import loss_chart
from ...viz import run_records
from ..compare import compare_runs
from .page import embedded_picture, note, page, table, text
from .run import picture_folders


def compare_page(runs: list[str | Path]) -> str:
    """One self-contained page: compare's table, a picture and a loss curve per run, compare's notes."""
    header, rows = compare_table(runs)
    notes = [line for line in compare_runs(runs, "markdown").splitlines() if line and not line.startswith("|")]
    cells = [
        [text(cell) for cell in row] + [latest_picture(Path(run)), run_loss_chart(Path(run))]
        for row, run in zip(rows, runs)
    ]
    body = [
        f"<h1>genlab compare: {len(runs)} runs</h1>",
        table([text(h) for h in header] + ["latest samples", "loss"], cells, css="compare"),
        *map(note, notes),
    ]
    return page("genlab compare", body)


def compare_table(runs: list[str | Path]) -> tuple[list[str], list[list[str]]]:
    """compare's CSV table with each spread joined to its number (``12.3 ± 0.4``)."""
    header, *rows = list(csv.reader(io.StringIO(compare_runs(runs, "csv"))))
    spread = {i for i, name in enumerate(header) if i and name == header[i - 1] + " ±"}
    joined = [
        [
            cell + (f" ± {row[i + 1]}" if i + 1 in spread and row[i + 1] else "")
            for i, cell in enumerate(row)
            if i not in spread
        ]
        for row in rows
    ]
    return [name for i, name in enumerate(header) if i not in spread], joined


def latest_picture(run: Path) -> str:
    """The last epoch's samples (or its first kind of picture) as a small inline picture."""
    folders = picture_folders(run)
    if not folders:
        return "-"
    name, pictures = next(iter(folders.items()))
    epoch = max(pictures)
    return embedded_picture(pictures[epoch], f"{name.replace('_', ' ')}, epoch {epoch}", max_width=160)


def run_loss_chart(run: Path) -> str:
    """A small chart of the run's losses against the step (as its run folder's loss_curve.svg draws them)."""
    return loss_chart(run_records(run), width=260, height=160) or "-"

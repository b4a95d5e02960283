"""`genlab report` and `genlab compare --html`: self-contained HTML pages of runs -- inline CSS, curves as inline
SVG, pictures as data: URIs, no script; nothing is fetched, so a page reads the same offline in any browser."""

from __future__ import annotations

from pathlib import Path

from .comparison import compare_page
from .page import save_page
from .run import run_report

REPORT_NAME = "report.html"  # where `genlab report RUN` writes by default

__all__ = ["REPORT_NAME", "compare_page", "run_report", "save_page", "write_report"]


def write_report(run: str | Path, out: str | Path | None = None, force: bool = False) -> Path:
    """Write the report of ``run`` (default RUN/report.html; a file that is not a genlab page only with
    ``force``) and return its path."""
    html = run_report(run)
    return save_page(out or Path(run) / REPORT_NAME, html, force)

"""genlab report: one self-contained HTML page of a run -- its scores (eval.json with provenance, stale ones
marked), loss and metric curves, sample / reconstruction / translation pictures of the last epoch and a few
earlier ones, and its config. Pictures and curves are inside the file; it reads offline in any browser."""

from __future__ import annotations

import argparse

from .common import add_output, report
from .verbs import help_of

EXAMPLES = """examples:
  genlab report runs/vae                   # writes runs/vae/report.html
  genlab report runs/gan -o gan.html       # anywhere else
  genlab compare runs/vae runs/gan --html -o compare.html   # several runs side by side
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help=help_of("report"),
        description=__doc__,
        epilog=EXAMPLES,
    )
    p.add_argument("run", metavar="RUN", help="run folder written by `genlab train`")
    add_output(p, "report.html", what="HTML file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..report import write_report

    report(write_report(args.run, args.output, args.force))
    return 0

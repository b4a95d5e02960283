"""Test likelihood against training time for likelihood runs, from their metrics.jsonl: the test -ELBO of every
epoch (train.eval_images test images) and the importance-sampled NLL of the scheduled evaluations (train.eval_every
with train.eval_metrics=nll: k = 100 on train.eval_samples test images), against the cumulative training minutes.

    python benchmarks/likelihood_curve.py vae=runs/vae-nll-curve hvae=runs/hvae-nll

Writes docs/images/likelihood-curve.svg and prints the table of the docs (minutes, epoch, -ELBO, NLL).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from genlab.charts import Series, line_chart

IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"


def epochs(run: Path) -> list[dict]:
    """The run's epoch records, each with the cumulative training minutes at its end."""
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    rows, minutes = [], 0.0
    for record in records:
        if record.get("kind") == "epoch":
            minutes += record["seconds"] / 60
            rows.append({**record, "minutes": minutes})
    return rows


def series(name: str, rows: list[dict], ceiling: float) -> list[Series]:
    """-ELBO of every epoch (those under ``ceiling`` nats: the first epochs of a KL warm-up sit far above) and the
    NLL where it was scored, against minutes."""
    shown = [r for r in rows if -r["test/elbo"] <= ceiling]
    elbo = Series(f"{name} -ELBO", [r["minutes"] for r in shown], [-r["test/elbo"] for r in shown])
    scored = [r for r in rows if "eval/nll" in r]
    nll = Series(f"{name} NLL k=100", [r["minutes"] for r in scored], [r["eval/nll"] for r in scored], dots=True)
    return [elbo, nll]


def table(name: str, rows: list[dict]) -> list[str]:
    """Markdown rows at the scheduled evaluations (and the last epoch)."""
    picked = [r for r in rows if "eval/nll" in r or r is rows[-1]]
    return [
        f"| {name} | {r['epoch']} | {r['minutes']:.0f} | {-r['test/elbo']:.2f} | "
        + (f"{r['eval/nll']:.2f} |" if "eval/nll" in r else "|")
        for r in picked
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="NAME=RUN")
    parser.add_argument("--out", default=str(IMAGES / "likelihood-curve.svg"))
    parser.add_argument("--ceiling", type=float, default=110.0, help="highest -ELBO drawn, in nats (default 110)")
    args = parser.parse_args()
    lines, rows = (
        [],
        ["| model | epoch | minutes | test -ELBO (nats) | test NLL, k = 100 (nats) |", "|---|---|---|---|---|"],
    )
    for spec in args.runs:
        name, run = spec.split("=", 1)
        records = epochs(Path(run))
        lines += series(name, records, args.ceiling)
        rows += table(name, records)
    chart = line_chart("test nats per image against training minutes", lines, width=560, height=300, standalone=True)
    Path(args.out).write_text(chart, encoding="utf-8")
    print("\n".join(rows))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""genlab eval: score a trained run; prints a table and writes RUN/eval.json with provenance."""
from __future__ import annotations

import argparse
import json

from .common import add_run

EXAMPLES = """examples:
  genlab eval runs/vae --metrics elbo,nll              # IWAE protocol: k=5000 on all 10,000 test images
  genlab eval runs/vae --metrics nll -k 1000 --images 1000   # a quicker estimate on CPU
  genlab eval runs/gan --metrics parzen            # Goodfellow et al. (2014) Parzen-window protocol
  genlab eval runs/toy --metrics modes             # PacGAN mode coverage on toy2d:ring8 / grid25
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score a run (ELBO, NLL, bits/dim, active units, Parzen, mode coverage)",
                       description=__doc__, epilog=EXAMPLES)
    add_run(p)
    p.add_argument("--metrics", help="comma-separated: elbo, nll, parzen, modes (default: elbo,nll for VAEs, "
                                     "modes on toy2d data, parzen otherwise)")
    p.add_argument("-k", type=int, default=5000, help="importance samples per image for nll (default 5000)")
    p.add_argument("--images", type=int, help="score only the first N images (default: all)")
    p.add_argument("--split", default="test", help="data split (default test)")
    p.add_argument("--batch-size", type=int, default=100, help="images per batch (default 100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the full JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation import evaluate, format_table, parse_metrics

    metrics = parse_metrics(args.metrics) if args.metrics else None
    results = evaluate(args.run, metrics, k=args.k, images=args.images, split=args.split,
                       batch_size=args.batch_size, seed=args.seed, device=args.device)
    print(json.dumps(results, indent=2) if args.json else format_table(results))
    return 0

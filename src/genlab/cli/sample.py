"""genlab sample: draw images from a trained model."""
from __future__ import annotations

import argparse

from ..samplers import sample_images
from ..viz import save_grid
from .common import add_output, add_run, load_model, report, resolve_output

EXAMPLES = """examples:
  genlab sample runs/vae -n 64 --seed 0 -o samples.png
  genlab sample runs/vae -n 100 --nrow 10 --seed 7
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="draw samples into a PNG grid", description=__doc__, epilog=EXAMPLES)
    add_run(p)
    p.add_argument("-n", type=int, default=64, help="number of images (default 64)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--nrow", type=int, help="images per row (default: square grid)")
    add_output(p, "samples-seed{seed}.png")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    model, _ = load_model(args)
    path = resolve_output(args, f"samples-seed{args.seed}.png")
    report(save_grid(sample_images(model, args.n, args.seed), path, nrow=args.nrow, scale=2))
    return 0

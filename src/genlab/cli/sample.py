"""genlab sample: draw images from a trained model."""
from __future__ import annotations

import argparse

from ..samplers import class_grid, sample_images
from ..data.toy2d import point_centers
from ..viz import save_grid, save_scatter
from .common import add_output, add_run, load_model, report, resolve_output

EXAMPLES = """examples:
  genlab sample runs/vae -n 64 --seed 0 -o samples.png
  genlab sample runs/vae -n 100 --nrow 10 --seed 7
  genlab sample runs/cgan --label 3 -n 16          # class-conditional models
  genlab sample runs/cgan --by-class -n 8          # one row per class
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="draw samples into a PNG grid", description=__doc__, epilog=EXAMPLES)
    add_run(p)
    p.add_argument("-n", type=int, default=64, help="number of images (default 64)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--nrow", type=int, help="images per row (default: square grid)")
    p.add_argument("--label", type=int, help="class to draw from (class-conditional models)")
    p.add_argument("--by-class", action="store_true",
                   help="a class-by-sample grid: one row per class, -n samples each (conditional models)")
    add_output(p, "samples-seed{seed}.png")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    model, config = load_model(args)
    path = resolve_output(args, f"samples-seed{args.seed}.png")
    if getattr(model, "points", False):
        report(save_scatter(sample_images(model, args.n, args.seed), path, point_centers(config.data.name)))
    elif args.by_class:
        sample_images(model, 1, args.seed, label=0)  # checks the model is conditional
        report(save_grid(class_grid(model, args.n, args.seed), path, nrow=args.n, scale=2))
    else:
        report(save_grid(sample_images(model, args.n, args.seed, args.label), path, nrow=args.nrow, scale=2))
    return 0

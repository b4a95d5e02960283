"""genlab translate: map images from one domain to the other with a trained CycleGAN (or refiner, a2b)."""

from __future__ import annotations

import argparse

from .common import COUNT, SEED, add_run, load_model
from .verbs import help_of

EXAMPLES = """examples:
  genlab translate runs/cyclegan --direction a2b photo.png --out translated/
  genlab translate runs/cyclegan --direction b2a testB/ --out fakeA/ --grid   # a folder, recursively
  genlab translate runs/cyclegan --direction a2b a.png b.png --out out/ --force
  genlab translate runs/refiner --direction a2b synthetic/ --out refined/   # SimGAN: synthetic -> real only

Each output keeps the input's name (for folders: its path below the folder) and is written at the
model's resolution; --grid adds out/grid_a2b.png with rows input | translated | cycled back (a refiner
has no way back: input | refined).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("translate", help=help_of("translate"), description=__doc__, epilog=EXAMPLES)
    add_run(p)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders (searched recursively)")
    p.add_argument(
        "--direction",
        choices=("a2b", "b2a"),
        required=True,
        help="a2b: domain A to B (generator G, or the refiner); b2a: B to A (generator F)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the translated images")
    p.add_argument(
        "--grid",
        action="store_true",
        help="also write DIR/grid_<direction>.png: input | translated | cycled (first 64 inputs)",
    )
    p.add_argument("--batch-size", type=COUNT, default=64, help="images translated at once (default 64)")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.add_argument(
        "--seed",
        type=SEED,
        default=0,
        help="seed of the styles a translator with style codes (model.style_dim > 0) draws (default 0)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ...errors import GenlabError
    from ..translate import translate_files

    if args.batch_size < 1:
        raise GenlabError("--batch-size must be at least 1")
    model, _ = load_model(args)
    written = translate_files(
        model,
        args.inputs,
        args.out,
        args.direction,
        grid=args.grid,
        force=args.force,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    print(f"wrote {len(written)} file(s) to {args.out}")
    return 0

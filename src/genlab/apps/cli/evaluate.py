"""genlab eval / compare: score trained runs; tables of their numbers with provenance."""

from __future__ import annotations

import argparse
import functools
import json

from ...errors import GenlabError
from .common import COUNT, SEED, add_run, integer, report

EXAMPLES = """examples:
  genlab eval runs/vae --metrics elbo,nll              # IWAE protocol: k=5000 on all 10,000 test images
  genlab eval runs/vae --metrics nll -k 1000 --images 1000   # a quicker estimate on CPU
  genlab eval runs/gan --metrics fid,kid,pr,dc,is      # offline, with genlab's digit feature network
  genlab eval runs/cifar --metrics fid --inception-weights pt_inception-2015-12-05-6726825d.pth
  genlab eval runs/gan --metrics parzen            # Goodfellow et al. (2014) Parzen-window protocol
  genlab eval runs/toy --metrics modes             # PacGAN mode coverage on toy2d:ring8 / grid25
  genlab eval runs/cyclegan --metrics fid_a2b,fid_b2a,kid_a2b,kid_b2a,cycle   # translation quality
  genlab eval runs/gan/export/onnx --metrics fid   # an exported ONNX generator (genlab export), scored like its run
  genlab eval samples.npz --reference mnist        # image files: FID/KID/PR/DC (digits-v2) and SWD against MNIST test
  genlab eval fakes/ --reference photos/           # two folders of images (SWD; FID with --inception-weights FILE)
"""
COMPARE_EXAMPLES = """examples:
  genlab compare runs/vae runs/gan runs/wgan          # a markdown table of every scored metric
  genlab compare runs/* --format csv > table.csv
  genlab compare runs/* --html -o compare.html        # a page with each run's latest samples and loss curve
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="score a run (likelihood, FID/KID/PR/DC/IS, Parzen, mode coverage, translation quality)",
        description=__doc__,
        epilog=EXAMPLES,
    )
    add_run(p)
    p.add_argument(
        "--metrics",
        help="comma-separated: elbo, nll, bpd (diffusion), fid, kid, pr, dc, is, swd, parzen, modes; for "
        "translators fid_a2b, fid_b2a, kid_a2b, kid_b2a, cycle (default: by model "
        "and data)",
    )
    add_sizes(p)
    p.add_argument("--split", default="test", help="data split (default test)")
    add_reference(p)
    p.add_argument(
        "--seed",
        type=SEED,
        default=0,
        help="seed of the samples drawn, the test binarization and the random subsets (default 0)",
    )
    add_sampling(p)
    p.add_argument("--json", action="store_true", help="print the full JSON instead of a table")
    p.add_argument(
        "--graph",
        metavar="FILE",
        help="RUN is a folder of `genlab export`: the generator graph to score "
        "(default: the one the model samples through); results go to its eval.json",
    )
    p.set_defaults(func=run)
    register_compare(sub)


def add_sampling(p: argparse.ArgumentParser) -> None:
    """A diffusion run's sampler for the samples scored (default: the run's); another one is stored beside it."""
    from .sample import add_diffusion

    add_diffusion(p)
    p.add_argument(
        "--steps",
        type=COUNT,
        help="a diffusion model's noise levels (default: the run's); scores of another sampler or step count "
        "go to eval.json as METRIC@SAMPLER-STEPS",
    )


def add_reference(p: argparse.ArgumentParser) -> None:
    """What samples are compared with, and through which feature network."""
    p.add_argument(
        "--reference",
        metavar="REF",
        help="score image files instead of a run: RUN is then a folder of images, an .npz (genlab sample "
        "--format npz) or a dataset name, scored against REF, one of the same (like pytorch-fid DIR1 DIR2)",
    )
    p.add_argument("--reference-split", default="test", help="real images compared against (default test)")
    p.add_argument(
        "--extractor",
        help="feature network: digits-v2 (default on digit data), digits (v1), digits-check, digits-plain "
        "or a classifier run",
    )
    p.add_argument(
        "--inception-weights",
        metavar="FILE",
        help="Inception-v3 features from pytorch-fid's pt_inception-2015-12-05-6726825d.pth",
    )


def add_sizes(p: argparse.ArgumentParser) -> None:
    """How much eval scores: importance samples, images, samples, batch size."""
    p.add_argument("-k", type=COUNT, default=5000, help="importance samples per image for nll (default 5000)")
    p.add_argument(
        "--images", type=COUNT, help="score only the first N images for elbo/nll/parzen/cycle (default: all)"
    )
    p.add_argument(
        "--samples",
        type=integer(2),
        help="generated images for fid/kid/pr/dc/is/swd, translated images per direction for fid_a2b/... "
        "(default 10000; with --reference all the images of RUN)",
    )
    p.add_argument("--batch-size", type=COUNT, default=100, help="images per batch (default 100)")


def register_compare(sub: argparse._SubParsersAction) -> None:
    """genlab compare: the scores of several runs side by side."""
    p = sub.add_parser(
        "compare",
        help="one table over several scored runs",
        description="Print the numbers in each RUN/eval.json side by side.",
        epilog=COMPARE_EXAMPLES,
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders (scored with genlab eval)")
    p.add_argument(
        "--format",
        choices=("markdown", "csv", "html"),
        default="markdown",
        help="markdown table (default), csv (spreads in their own columns) or html (see --html)",
    )
    p.add_argument(
        "--html",
        dest="format",
        action="store_const",
        const="html",
        help="a self-contained HTML page (same as --format html): the table, and per run its latest "
        "samples and loss curve",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write the table to FILE instead of printing it")
    p.add_argument("--force", action="store_true", help="overwrite an existing FILE that genlab did not write")
    p.set_defaults(func=run_compare)


def run(args: argparse.Namespace) -> int:
    from ...evaluation import format_table, parse_metrics
    from ...evaluation.exported import evaluate_export, is_export
    from ...evaluation.files import evaluate_files
    from ...progress import shown
    from ..report.cards import evaluate_with_card

    metrics = parse_metrics(args.metrics) if args.metrics else None
    if args.reference is not None and args.graph is not None:
        raise GenlabError("--graph picks a graph of an export folder; --reference scores image files")
    chosen = [f"--{k}" for k in ("sampler", "steps", "eta", "guidance") if getattr(args, k) is not None]
    if chosen and (args.reference is not None or is_export(args.run)):
        raise GenlabError(f"{', '.join(chosen)}: for a diffusion run folder, not image files or an export")
    if args.reference is not None:  # two sets of images (folders, .npz files, datasets): nothing is written
        scorer = functools.partial(evaluate_files, reference=args.reference)
    elif is_export(args.run):  # a folder of exported graphs (or one .onnx file in it): score the ONNX generator
        scorer = functools.partial(evaluate_export, graph=args.graph)
    elif args.graph is not None:
        raise GenlabError("--graph picks a graph of a folder written by genlab export; RUN is a run folder")
    else:  # the card shows the new numbers
        sampling = {"sampler": args.sampler, "steps": args.steps, "eta": args.eta, "guidance": args.guidance}
        scorer = functools.partial(evaluate_with_card, device=args.device, sampling=sampling)
    sizes = {"k": args.k, "images": args.images, "batch_size": args.batch_size, "seed": args.seed}
    if args.samples is not None:
        sizes["samples"] = args.samples
    with shown():  # a bar with its ETA in a terminal, a line every 30 s in a log
        results = scorer(
            args.run,
            metrics,
            split=args.split,
            extractor=args.extractor,
            inception_weights=args.inception_weights,
            reference_split=args.reference_split,
            **sizes,
        )
    print(json.dumps(results, indent=2) if args.json else format_table(results))
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from ..compare import compare_runs
    from ..report import compare_page, save_page

    table = compare_page(args.runs) if args.format == "html" else compare_runs(args.runs, args.format)
    if args.output is None:
        print(table)
    else:
        report(save_page(args.output, table if table.endswith("\n") else table + "\n", args.force))
    return 0

"""Plug & Play generation benchmark (issue 17; Nguyen et al. 2017, Eq. 5): steer unconditional MNIST models to
each class 0-9 with a guide classifier and read the results with an independent one.

    OMP_NUM_THREADS=1 python benchmarks/plug_and_play.py                     # default runs, 100 chains per class
    python benchmarks/plug_and_play.py --runs onnx_runs/gan --n 20 --steps 50  # a quick look

Per run and class: the share of guided samples the guide reads as the target class (how well the guide is fooled),
the share `digits-check` reads so (an independent network: another layout and seed, never the guide), both also
for the unguided prior samples (step 0), and the CPU time per chain step for a batch of --n chains.
"""
from __future__ import annotations

import argparse
import time

import torch

from common import RESULTS, save
from genlab.errors import GenlabError
from genlab.metrics.extractors import load_guide
from genlab.runs import load_run
from genlab.samplers import PNP_EPS, plug_and_play

RUNS = ("studio_runs/vae", "onnx_runs/vae", "onnx_runs/autoencoder", "onnx_runs/gan", "onnx_runs/latent-gan")


def accuracy(classifier: torch.nn.Module | None, images: torch.Tensor, label: int) -> float | None:
    """Share of images the classifier reads as ``label`` (None without a classifier)."""
    if classifier is None:
        return None
    with torch.no_grad():
        return (classifier(images).argmax(1) == label).float().mean().item()


def one_class(model, guide, check, label: int, args: argparse.Namespace) -> dict:
    """Guided samples of one class: accuracies before (prior samples) and after the chain, and seconds per step."""
    start = time.perf_counter()
    result = plug_and_play(model, guide, label, n=args.n, steps=args.steps, eps1=args.eps1, eps2=args.eps2,
                           eps3=args.eps3, seed=label, record_every=args.steps)
    seconds = time.perf_counter() - start
    first = result.chain[0]
    return {"label": label, "guide_acc": accuracy(guide, result.images, label),
            "check_acc": accuracy(check, result.images, label), "guide_acc_unguided": accuracy(guide, first, label),
            "check_acc_unguided": accuracy(check, first, label), "s_per_step": seconds / max(args.steps, 1)}


def mean(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r[key] is not None]
    return sum(values) / len(values) if values else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", nargs="+", default=RUNS, help="run folders under benchmarks/results/ (or paths)")
    p.add_argument("--guide", default="digits")
    p.add_argument("--check", default="digits-check", help="independent classifier ('' for none)")
    p.add_argument("--n", type=int, default=100, help="chains per class (run in one batch)")
    p.add_argument("--steps", type=int, default=200)
    for i, default in enumerate(PNP_EPS, 1):
        p.add_argument(f"--eps{i}", type=float, default=default, help=f"default {default} (genlab's)")
    p.add_argument("--name", default="plug_and_play", help="results file benchmarks/results/NAME.json")
    args = p.parse_args()
    guide = load_guide(args.guide)
    try:
        check = load_guide(args.check) if args.check else None
    except GenlabError as e:
        print(f"no independent classifier ({e}); reporting guide accuracy only")
        check = None
    table = {}
    for run in args.runs:
        model, _ = load_run(RESULTS / run if (RESULTS / run).is_dir() else run)
        rows = [one_class(model, guide, check, c, args) for c in range(10)]
        table[run] = {**{k: mean(rows, k) for k in rows[0] if k != "label"}, "per_class": rows}
        print(run, {k: v for k, v in table[run].items() if k != "per_class"}, flush=True)
    options = {k: getattr(args, k) for k in ("guide", "check", "n", "steps", "eps1", "eps2", "eps3")}
    save(args.name, {"options": options, "runs": table})


if __name__ == "__main__":
    main()

"""Plug & Play generation benchmark (issue 17; Nguyen et al. 2017, Eq. 5): steer unconditional MNIST models to
each class 0-9 with a guide classifier and read the results with an independent one.

    OMP_NUM_THREADS=1 python benchmarks/plug_and_play.py                     # the zoo's runs, 200 chains per class
    python benchmarks/plug_and_play.py --runs zoo/vae --n 20 --steps 50        # a quick look
    python benchmarks/plug_and_play.py --runs zoo/vae --prior zoo/vae-dae      # PPGN-h: a code-dae as the prior

Per run and class: the share of guided samples the guide reads as the target class (how well the guide is fooled),
the share `digits-check` reads so (an independent network: another layout and seed, never the guide), both also
for the unguided prior samples (step 0), FID of the guided and of the unguided samples against that class's MNIST
test digits in the independent network's features (never the guide's), and the CPU time per chain step for a
batch of --n chains.
"""

from __future__ import annotations

import argparse
import time

import torch

from common import RESULTS, save
from genlab.data import load_dataset
from genlab.errors import GenlabError
from genlab.metrics.extractors import load_extractor, load_guide
from genlab.metrics.features import extract
from genlab.metrics.quality import fid
from genlab.runs import load_run
from genlab.samplers import PNP_EPS, PNP_MAX_STEP, plug_and_play

RUNS = ("zoo/vae", "zoo/nonsaturating", "zoo_latent/latent-gan")  # python benchmarks/zoo.py makes them


def accuracy(classifier: torch.nn.Module | None, images: torch.Tensor, label: int) -> float | None:
    """Share of images the classifier reads as ``label`` (None without a classifier)."""
    if classifier is None:
        return None
    with torch.no_grad():
        return (classifier(images).argmax(1) == label).float().mean().item()


def class_fid(features, images: torch.Tensor, label: int) -> float | None:
    """FID of images against the MNIST test digits of class ``label``, in the independent network's features."""
    if features is None:
        return None
    extractor, test = features
    real = extract(extractor, test.images[test.labels == label].float() / 255)["features"]
    return fid(real, extract(extractor, images)["features"])["fid"]


def one_class(model, guide, check, features, prior, label: int, args: argparse.Namespace) -> dict:
    """Guided samples of one class: accuracies and FID before (prior samples) and after the chain, and seconds
    per step."""
    start = time.perf_counter()
    result = plug_and_play(
        model,
        guide,
        label,
        n=args.n,
        steps=args.steps,
        eps1=args.eps1,
        eps2=args.eps2,
        eps3=args.eps3,
        seed=label,
        record_every=args.steps,
        prior=prior,
        max_step=args.max_step or None,
    )
    seconds = time.perf_counter() - start
    first = result.chain[0]
    return {
        "label": label,
        "guide_acc": accuracy(guide, result.images, label),
        "check_acc": accuracy(check, result.images, label),
        "guide_acc_unguided": accuracy(guide, first, label),
        "check_acc_unguided": accuracy(check, first, label),
        "fid": class_fid(features, result.images, label),
        "fid_unguided": class_fid(features, first, label),
        "s_per_step": seconds / max(args.steps, 1),
    }


def under_results(run: str) -> str:
    """A run folder under benchmarks/results/, or the path as given."""
    return str(RESULTS / run) if (RESULTS / run).is_dir() else run


def mean(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r[key] is not None]
    return sum(values) / len(values) if values else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", nargs="+", default=RUNS, help="run folders under benchmarks/results/ (or paths)")
    p.add_argument("--guide", default="digits-v2,digits", help="the guide: the v2 and v1 digit networks' ensemble")
    p.add_argument("--check", default="digits-check", help="independent classifier ('' for none)")
    p.add_argument("--n", type=int, default=100, help="chains per class (run in one batch)")
    p.add_argument("--steps", type=int, default=200)
    for i, default in enumerate(PNP_EPS, 1):
        p.add_argument(f"--eps{i}", type=float, default=default, help=f"default {default} (genlab's)")
    p.add_argument("--max-step", type=float, default=PNP_MAX_STEP, help=f"default {PNP_MAX_STEP}; 0: unclipped")
    p.add_argument("--prior", help="a code-dae run (PPGN-h) for every run: each must be its source")
    p.add_argument("--name", default="plug_and_play", help="results file benchmarks/results/NAME.json")
    args = p.parse_args()
    guide = load_guide(args.guide)
    try:
        check = load_guide(args.check) if args.check else None
    except GenlabError as e:
        print(f"no independent classifier ({e}); reporting guide accuracy only")
        check = None
    features = (load_extractor(args.check), load_dataset("mnist", "test")) if check is not None else None
    prior = load_run(under_results(args.prior))[0] if args.prior else None
    table = {}
    for run in args.runs:
        model, _ = load_run(under_results(run))
        rows = [one_class(model, guide, check, features, prior, c, args) for c in range(10)]
        table[run] = {**{k: mean(rows, k) for k in rows[0] if k != "label"}, "per_class": rows}
        print(run, {k: v for k, v in table[run].items() if k != "per_class"}, flush=True)
    options = {
        k: getattr(args, k) for k in ("guide", "check", "prior", "n", "steps", "eps1", "eps2", "eps3", "max_step")
    }
    save(args.name, {"options": options, "runs": table})


if __name__ == "__main__":
    main()

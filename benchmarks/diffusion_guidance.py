"""Guided diffusion on MNIST, read by an independent network: the share of samples `digits-check` reads as the
asked class, and their FID under digits-v2 against the MNIST test digits (all classes asked equally often).

Classifier-free guidance (Ho & Salimans 2021) of a class-conditional run, at each weight w of --weights (w = 0:
the conditional model alone); with --guided-run, classifier guidance (Dhariwal & Nichol 2021) of an unconditional
run by --guide (digits-v2 by default, never the judge) at each scale of --scales.

    OMP_NUM_THREADS=1 python benchmarks/diffusion_guidance.py --run runs/diffusion-cfg --n 100
    python benchmarks/diffusion_guidance.py --run R --weights 0,2 --guided-run runs/diffusion-quick --scales 1,4

Writes benchmarks/results/diffusion_guidance.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import time

import torch

from common import save
from genlab.data import load_dataset
from genlab.metrics.extractors import load_extractor, load_guide
from genlab.metrics.features import extract
from genlab.metrics.quality import fid
from genlab.runs import load_run

CLASSES = 10


def draw(model, n: int, seed: int, sampling: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """n samples of each class 0-9 (class c seeded by seed + c) and the classes asked."""
    images, asked = [], []
    for label in range(CLASSES):
        labels = torch.full((n,), label, dtype=torch.long)
        generator = torch.Generator().manual_seed(seed + label)
        images.append(model.sample(n, generator=generator, labels=labels, **sampling))
        asked.append(labels)
    return torch.cat(images), torch.cat(asked)


def judge(images: torch.Tensor, asked: torch.Tensor, judges: dict) -> dict:
    """Accuracy of the independent network (overall and its worst class) and FID against the test digits."""
    logits = extract(judges["check"], images, logits=True)["logits"]
    right = (logits.argmax(1) == asked).float()
    per_class = [right[asked == c].mean().item() for c in range(CLASSES)]
    features = extract(judges["fid"], images)["features"]
    return {
        "check_accuracy": round(right.mean().item(), 4),
        "worst_class": round(min(per_class), 4),
        "fid": round(fid(judges["real"], features)["fid"], 3),
    }


def row(model, args: argparse.Namespace, judges: dict, setting: dict, **sampling) -> dict:
    """One setting (its run, kind and strength): draw, judge, time."""
    started = time.perf_counter()
    images, asked = draw(model, args.n, args.seed, {"sampler": args.sampler, "steps": args.steps, **sampling})
    result = {**setting, **judge(images, asked, judges), "evaluations": model.last_evaluations}
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(result, flush=True)
    return result


def load_judges(check: str, reference_images: int) -> dict:
    """digits-check's logits for accuracy, digits-v2 features of the test digits for FID, and the FID floor."""
    extractor = load_extractor("digits-v2")
    test = load_dataset("mnist", "test")
    real = extract(extractor, test.images.float() / 255)["features"]
    train = load_dataset("mnist", "train").images[:reference_images].float() / 255
    floor = fid(real, extract(extractor, train)["features"])["fid"]
    return {"check": load_extractor(check), "fid": extractor, "real": real, "floor": round(floor, 3)}


def table(rows: list[dict]) -> str:
    """Markdown: one line per guidance setting."""
    lines = ["| guidance | NFE | digits-check accuracy | worst class | FID digits-v2 |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['kind']} {r['strength']:g} | {r['evaluations']} | {r['check_accuracy']:.2%} | "
            f"{r['worst_class']:.2%} | {r['fid']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", help="a class-conditional diffusion run (classifier-free guidance)")
    p.add_argument("--weights", default="0,1,2,4", help="classifier-free guidance weights w")
    p.add_argument("--guided-run", help="an unconditional diffusion run (classifier guidance)")
    p.add_argument("--guide", default="digits-v2", help="the classifier that steers (never the judge)")
    p.add_argument("--scales", default="1,2,4", help="classifier guidance scales")
    p.add_argument("--check", default="digits-check", help="the independent classifier that judges")
    p.add_argument("--n", type=int, default=100, help="samples per class")
    p.add_argument("--sampler", default=None, help="default: the run's")
    p.add_argument("--steps", type=int, default=None, help="default: the run's")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if not (args.run or args.guided_run):
        p.error("give --run, --guided-run or both")
    judges = load_judges(args.check, args.n * CLASSES)
    rows = []
    if args.run:
        model, _ = load_run(args.run)
        for w in (float(v) for v in args.weights.split(",")):
            setting = {"run": args.run, "kind": "classifier-free w", "strength": w}
            rows.append(row(model, args, judges, setting, guidance=w))
    if args.guided_run:
        model, _ = load_run(args.guided_run)
        for scale in (float(v) for v in args.scales.split(",")):
            model.guide_with(load_guide(args.guide), scale)
            setting = {"run": args.guided_run, "kind": f"{args.guide} scale", "strength": scale}
            rows.append(row(model, args, judges, setting))
    print(table(rows))
    print(f"FID floor: {args.n * CLASSES} real training digits score {judges['floor']:.2f}")
    save("diffusion_guidance", {"rows": rows, "fid_floor": judges["floor"], "samples": args.n * CLASSES, **vars(args)})


if __name__ == "__main__":
    main()

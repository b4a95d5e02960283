"""Extractor agreement check (issue 16): score the same sample sets under two independently trained digit
networks and report how well they rank them (Spearman rank correlation over all rows; target >= 0.9).

    OMP_NUM_THREADS=1 python benchmarks/extractor_agreement.py        # digits-v2 vs digits-plain (1 core: ~5 min)
    python benchmarks/extractor_agreement.py --a digits-v2 --b digits-check --runs RUN ...

Rows: 10,000 MNIST training images (random, seed 0), clean and degraded several ways (noise, blur, contrast,
stroke width, inversion, affine moves, mixtures), plus 10,000 samples of each trained image model given with
--runs (default: the runs under benchmarks/results/ that exist). Every row is scored against the 10,000 MNIST
test images with FID and KID under both extractors. `digits-plain` (benchmarks/digit_classifier.py --version
plain) has another recipe (clean digits and mild noise only, not digits-v2's invariances), another layout (3
stages of one conv, 64 features) and another seed; `digits-check` shares digits-v2's recipe. Neither is a default.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from scipy.stats import spearmanr

from common import RESULTS, save
from digit_classifier import degraded_sets
from genlab.data import load_dataset, to_float
from genlab.evaluation import draw_samples
from genlab.metrics import fid, kid
from genlab.metrics.extractors import load_extractor
from genlab.metrics.features import extract
from genlab.ops.augment import add_noise, affine, contrast, dilate, gaussian_blur
from genlab.training import load_run

N = 10_000
MODEL_RUNS = (
    "studio_runs/vae",
    "studio_runs/cgan",
    "onnx_runs/vae",
    "onnx_runs/gan",
    "onnx_runs/conditional-gan",
    "onnx_runs/latent-gan",
    "onnx_runs/autoencoder",
)


def more_degradations(x: torch.Tensor, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Further strengths and mixtures beyond ``degraded_sets`` (noise clamped to [0, 1])."""
    n = len(x)
    rotated = affine(x, torch.full((n,), 15.0), torch.ones(n), torch.full((n, 2), 2.0))
    return {
        "noise 0.05": add_noise(x, 0.05, gen),
        "noise 0.4": add_noise(x, 0.4, gen),
        "blur 0.5 px": gaussian_blur(x, 0.5),
        "blur 1.5 px": gaussian_blur(x, 1.5),
        "contrast 0.7": contrast(x, 0.7),
        "contrast 0.3": contrast(x, 0.3),
        "grey background": contrast(x, 0.7, 0.3),
        "rotated 15 deg + shifted 2 px": rotated,
        "noise 0.1 + blur 1 px": add_noise(gaussian_blur(x, 1.0), 0.1, gen),
        "blur 1.5 px + contrast 0.5": contrast(gaussian_blur(x, 1.5), 0.5),
        "thicker + noise 0.2": add_noise(dilate(x), 0.2, gen),
        "blur 2 px + noise 0.3": add_noise(gaussian_blur(x, 2.0), 0.3, gen),
    }


def real_rows(n: int = N) -> dict[str, torch.Tensor]:
    """``n`` training images, clean and degraded (the same images in every row)."""
    train = load_dataset("mnist", "train")
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:n]
    x = to_float(train.images[pick])
    rows = {f"train, {k}": v for k, v in degraded_sets(x).items()}
    rows.update({f"train, {k}": v for k, v in more_degradations(x, torch.Generator().manual_seed(2)).items()})
    return rows


def model_rows(runs: list[str], n: int = N) -> dict[str, torch.Tensor]:
    """``n`` samples (seed 0) of each trained image model."""
    rows = {}
    for run in runs:
        model, config = load_run(run)
        rows[f"model {Path(run).relative_to(RESULTS) if Path(run).is_relative_to(RESULTS) else run}"] = draw_samples(
            model, n, seed=0
        )
        print(f"sampled {run} ({config.model_name})", flush=True)
    return rows


def score_rows(name: str, rows: dict[str, torch.Tensor], test: torch.Tensor) -> dict:
    """FID and KID x 1000 of every row against the test images, under extractor ``name``."""
    extractor = load_extractor(name)
    real = extract(extractor, test)["features"]
    scores = {}
    for row, images in rows.items():
        fake = extract(extractor, images)["features"]
        scores[row] = {"fid": fid(real, fake)["fid"], "kid_x1000": 1000 * kid(real, fake)["kid"]}
    return {"extractor": extractor.name, "sha256": extractor.weights_sha256, "scores": scores}


def agreement(a: dict, b: dict) -> dict:
    """Spearman rank correlation of the two extractors' FID and KID over all rows (and over subsets)."""
    rows = list(a["scores"])
    out = {}
    for metric in ("fid", "kid_x1000"):
        for label, keep in (
            ("all", rows),
            ("degraded real", [r for r in rows if r.startswith("train")]),
            ("models", [r for r in rows if r.startswith("model")]),
        ):
            if len(keep) > 2:
                rho, p = spearmanr([a["scores"][r][metric] for r in keep], [b["scores"][r][metric] for r in keep])
                out[f"{metric} {label}"] = {"spearman": round(float(rho), 4), "p": float(p), "rows": len(keep)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", default="digits-v2", help="first extractor (a shipped name, run or file)")
    parser.add_argument("--b", default="digits-plain", help="second extractor, trained another way")
    parser.add_argument("--n", type=int, default=N, help="images per row (the test set is the reference)")
    parser.add_argument("--runs", nargs="*", help="trained image models to sample (default: MODEL_RUNS that exist)")
    args = parser.parse_args()
    runs = args.runs if args.runs is not None else [str(RESULTS / r) for r in MODEL_RUNS if (RESULTS / r).is_dir()]
    rows = {**real_rows(args.n), **model_rows(runs, args.n)}
    test = to_float(load_dataset("mnist", "test").images)
    a, b = score_rows(args.a, rows, test), score_rows(args.b, rows, test)
    table = {row: {"a": a["scores"][row], "b": b["scores"][row]} for row in rows}
    save(
        f"extractor_agreement_{a['extractor']}_vs_{b['extractor']}",
        {
            "a": {k: a[k] for k in ("extractor", "sha256")},
            "b": {k: b[k] for k in ("extractor", "sha256")},
            "images_per_row": args.n,
            "reference": "MNIST test, 10,000",
            "agreement": agreement(a, b),
            "rows": table,
        },
    )


if __name__ == "__main__":
    main()

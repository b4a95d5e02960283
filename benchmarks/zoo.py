"""A Lucic-style table on MNIST: the VAE and five GAN objectives trained the same way, each scored with
Goodfellow's Parzen protocol and the offline digit-feature metrics (FID, KID, precision/recall,
density/coverage, IS analogue; 10k generated vs the 10k test images).

    python benchmarks/zoo.py                          # VAE + five GAN objectives, CPU-sized (5 epochs)
    python benchmarks/zoo.py --models minimax,nonsaturating,lsgan,hinge-sn,wgan-gp --epochs 20 \
        --set model.g_width=64 --set model.d_width=64                                   # on a GPU
    python benchmarks/zoo.py --models vae,nonsaturating --skip-train                    # score again
    python benchmarks/zoo.py --models autoencoder,latent-gan --epochs 6                 # the two-stage GAN
    python benchmarks/zoo.py --models goodfellow --out benchmarks/results/zoo_goodfellow  # 100 epochs
    python benchmarks/zoo.py --models vae,nonsaturating --skip-train --metrics fid,kid   # feature metrics only

Models train on train50k so that Parzen's sigma is chosen on held-out validation images.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import RESULTS, save
from genlab.apps.compare import compare_runs
from genlab.evaluation import evaluate
from genlab.training import train

GAN_WIDTH = ["model.g_width=32", "model.d_width=32", "model.ema=0"]  # no EMA, as in Lucic et al.
MODELS = {  # name: (model, preset, overrides)
    "vae": ("vae", "quick", ["model.widths=32,64", "model.hidden=512", "model.latent_dim=32"]),
    "minimax": ("gan", "dcgan", ["model.objective=minimax"] + GAN_WIDTH),
    "nonsaturating": ("gan", "dcgan", ["model.objective=nonsaturating"] + GAN_WIDTH),
    "lsgan": ("gan", "dcgan", ["model.objective=lsgan"] + GAN_WIDTH),
    "hinge-sn": ("gan", "dcgan", ["model.objective=hinge", "model.spectral_norm=true"] + GAN_WIDTH),
    "wgan-gp": ("gan", "wgan-gp", GAN_WIDTH),
    # the best DCGAN found: non-saturating + R1 (Mescheder et al. 2018) with the generator EMA
    "nonsaturating-r1": (
        "gan",
        "dcgan",
        ["model.objective=nonsaturating", "model.r1_weight=1", "model.g_width=32", "model.d_width=32"],
    ),
    # two-stage: an autoencoder, then a GAN on its codes (its own epochs; needs the autoencoder row first)
    "autoencoder": ("autoencoder", None, ["model.latent_dim=16"]),
    "latent-gan": ("latent-gan", None, ["model.autoencoder={out}/autoencoder", "train.epochs=20"]),
    # the best pixel-space GAN: Goodfellow et al.'s nets with a long generator average (about 50 min on CPU)
    "goodfellow": ("gan", "goodfellow", ["model.ema=0.9999", "train.epochs=100"]),
}
NAMED_ONLY = ("nonsaturating-r1", "autoencoder", "latent-gan", "goodfellow")  # longer rows: run when named
METRICS = ["parzen", "fid", "kid", "pr", "dc", "is"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(name for name in MODELS if name not in NAMED_ONLY))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default=str(RESULTS / "zoo"))
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--set", dest="extra", action="append", default=[])
    parser.add_argument("--metrics", default=",".join(METRICS), help="what genlab eval scores (default: all six)")
    args = parser.parse_args()
    rows, runs = {}, []
    for name in args.models.split(","):
        model, preset, overrides = MODELS[name]
        run = Path(args.out) / name
        started = time.perf_counter()
        if not args.skip_train:
            settings = [f"train.epochs={args.epochs}", "data.train_split=train50k"] + overrides + args.extra
            train(model, preset=preset, out=run, force=True, overrides=[o.format(out=args.out) for o in settings])
        trained = time.perf_counter()
        rows[name] = {
            "train_seconds": round(trained - started, 1),
            "results": evaluate(run, args.metrics.split(",")),
            "eval_seconds": round(time.perf_counter() - trained, 1),
        }
        runs.append(run)
        print(compare_runs(runs), flush=True)
    save(Path(args.out).name, {"epochs": args.epochs, "extra": args.extra, "rows": rows, "table": compare_runs(runs)})


if __name__ == "__main__":
    main()

"""Likelihood benchmark (Burda et al. 2016 protocol): train the `nll` VAE preset on dynamically
binarized MNIST, then estimate the test NLL by importance sampling.

    python benchmarks/vae_nll.py                         # full protocol: k=5000, all 10,000 test images
    python benchmarks/vae_nll.py -k 1000 --images 1000   # a CPU-sized estimate
    python benchmarks/vae_nll.py --skip-train            # score an existing run again
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from common import RESULTS, save
from genlab.evaluation import evaluate
from genlab.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(RESULTS / "vae_nll"))
    parser.add_argument("-k", type=int, default=5000)
    parser.add_argument("--images", type=int, default=None)
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    train_seconds = None
    if not args.skip_train:
        started = time.perf_counter()
        train("vae", preset="nll", overrides=args.overrides, out=args.out, force=True)
        train_seconds = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    results = evaluate(args.out, ["elbo", "nll"], k=args.k, images=args.images)
    config = json.loads((Path(args.out) / "config.json").read_text())
    save("vae_nll", {"train_seconds": train_seconds, "eval_seconds": round(time.perf_counter() - started, 1),
                     "elbo": results["elbo"], "nll": results["nll"], "config": config})


if __name__ == "__main__":
    main()

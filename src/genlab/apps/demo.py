"""`make demo`: train a VAE on the built-in MNIST, then write samples, reconstructions, an
interpolation strip and a loss curve under runs/demo/ and print test likelihoods."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from ..data import load_split
from ..errors import GenlabError
from ..evaluation import format_table
from ..runs import load_run
from ..samplers import interpolate, prior_codes, sample_images
from ..training import train
from ..training.callbacks import LOSS_CURVE
from ..viz import interleave_rows, save_grid
from .report import write_report
from .report.cards import ModelCard, evaluate_with_card


def report(path: Path) -> None:
    print(f"wrote {path}")


def run_demo(out: Path, epochs: int, nll_k: int, nll_images: int) -> None:
    """Train the quick VAE preset and write the pictures and numbers a new user wants to see."""
    started = time.perf_counter()
    print(f"genlab demo: training a VAE on MNIST ({epochs} epochs, preset 'quick') into {out}")
    train(
        "vae",
        data="mnist",
        preset="quick",
        overrides=[f"train.epochs={epochs}"],
        out=out,
        force=True,
        extra_callbacks=[ModelCard()],
    )
    trained = time.perf_counter()
    model, config = load_run(out)
    report(save_grid(sample_images(model, 64, seed=0), out / "samples.png", nrow=8, scale=3))
    x = load_split(config, "test").head(16).images.float() / 255
    recon = model.reconstruct(model.prepare(x))
    report(save_grid(interleave_rows(x, recon, 8), out / "reconstructions.png", nrow=8, scale=3))
    strips = [interpolate(model, *prior_codes(model, [2 * i, 2 * i + 1]), steps=10) for i in range(4)]
    report(save_grid(torch.cat(strips), out / "interpolation.png", nrow=10, scale=3))
    print(f"wrote {out / LOSS_CURVE}")
    results = evaluate_with_card(out, ["elbo"])
    results.update(evaluate_with_card(out, ["nll"], k=nll_k, images=nll_images))
    print(format_table({"elbo": results["elbo"]}))
    print(format_table({"nll": results["nll"]}))
    report(write_report(out, out / "report.html", force=True))
    print(
        f"training {trained - started:.0f} s, total {time.perf_counter() - started:.0f} s; "
        f"everything is in {out.resolve()}"
    )
    print(f"open {out / 'report.html'} in a browser, or explore the model live: genlab serve {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genlab.apps.demo", description=__doc__)
    parser.add_argument("--out", default="runs/demo")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--nll-k", type=int, default=200, help="importance samples for the NLL estimate")
    parser.add_argument("--nll-images", type=int, default=1000, help="test images for the NLL estimate")
    args = parser.parse_args(argv)
    try:
        run_demo(Path(args.out), args.epochs, args.nll_k, args.nll_images)
    except GenlabError as e:
        print(f"genlab: error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())

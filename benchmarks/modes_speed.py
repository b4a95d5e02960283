"""Seconds of `genlab eval RUN --metrics modes` on Stacked MNIST (PacGAN's 26,000 samples, each channel read by the
digit network), on one thread, split into drawing the samples and the whole metric.

    OMP_NUM_THREADS=1 python benchmarks/modes_speed.py                 # trains a small width-32 run first
    OMP_NUM_THREADS=1 python benchmarks/modes_speed.py --run RUN --name modes_speed_before

Run it with PYTHONPATH pointing at an older checkout's src/ to time the code before a change on the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from common import save
from genlab.evaluation import draw_samples, evaluate
from genlab.runs import load_run
from genlab.training import train

SAMPLES = 26_000
SMALL_RUN = ["model.g_width=32", "model.d_width=32", "data.limit=2048", "train.epochs=1"]


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="a GAN run trained on stackedmnist (default: train a small one)")
    parser.add_argument("--name", default="modes_speed", help="result file name under benchmarks/results/")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as scratch:
        run = args.run or Path(scratch) / "stacked"
        if args.run is None:
            train("gan", data="stackedmnist", preset="r3gan", overrides=SMALL_RUN, out=run, echo=lambda s: None)
        model, _ = load_run(run)
        draw_s, _ = timed(lambda: draw_samples(model, SAMPLES, seed=0))
        modes_s, result = timed(lambda: evaluate(run, ["modes"], write=False)["modes"])
    print(f"drawing {SAMPLES} samples: {draw_s:.1f} s; eval --metrics modes: {modes_s:.1f} s")
    save(args.name, {"samples": SAMPLES, "draw_s": draw_s, "modes_s": modes_s, "result": result})


if __name__ == "__main__":
    main()

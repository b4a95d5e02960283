"""SIGKILL loop (docs/reliability.md): a GAN and a CycleGAN trained in a child process, killed at random moments
(every other kill aimed at a checkpoint save under way) and resumed each time, then compared with an
uninterrupted run: weights, training state and metrics.jsonl must be identical.

    OMP_NUM_THREADS=1 python benchmarks/kill_loop.py --kills 30            # gan and cyclegan, 30 kills each
    OMP_NUM_THREADS=1 python benchmarks/kill_loop.py --models gan --kills 5
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from common import save
from genlab.testing.faults import differences, finish, kill_loop

EVERY_STEP = ["train.checkpoint_every=1", "train.eval_images=0", "train.grid_size=4"]
RUNS = {  # a model's new-run arguments; epochs grow with the kills so that the run outlasts them
    "gan": lambda epochs: [
        "gan",
        "--preset",
        "tiny",
        *sets(EVERY_STEP, f"train.epochs={epochs}", "data.limit=256", "train.batch_size=32"),
    ],
    "cyclegan": lambda epochs: [
        "cyclegan",
        "--preset",
        "tiny",
        "--data",
        "unpaired:mnist,synthdigits",
        *sets(EVERY_STEP, f"train.epochs={epochs}", "data.limit=64", "train.batch_size=8"),
    ],
}


def sets(settings: list[str], *more: str) -> list[str]:
    return [a for s in [*settings, *more] for a in ("--set", s)]


def measure(model: str, kills: int, root: Path) -> dict:
    """One model's kill loop and its comparison with the uninterrupted run."""
    new_run = RUNS[model](max(4, kills // 2))
    started = time.perf_counter()
    seen = kill_loop(root / f"{model}-killed", new_run, kills)
    finish(root / f"{model}-straight", new_run)
    found = differences(root / f"{model}-killed", root / f"{model}-straight")
    return {
        "kills": seen.kills,
        "landed_while_training": seen.landed,
        "inside_a_save": seen.inside_save,
        "identical": not found,
        "differences": found,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="gan,cyclegan", help="comma-separated: gan, cyclegan")
    parser.add_argument("--kills", type=int, default=30)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="kill_loop_"))
    try:
        save("kill_loop", {m: measure(m, args.kills, root) for m in args.models.split(",")})
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

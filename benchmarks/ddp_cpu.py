"""Data-parallel training on the CPU: N processes x 1 thread (torchrun, gloo) against 1 process x N threads on
the same job (model, data, global batch, epochs), timed by the run's own epoch records.

    python benchmarks/ddp_cpu.py                      # 2 cores: VAE quick and the 28-px DCGAN
    python benchmarks/ddp_cpu.py --nproc 4 --jobs dcgan28
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import save

JOBS = {  # name: genlab train arguments (a real MNIST job, shortened)
    "vae-quick": ["vae", "--preset", "quick", "--set", "data.limit=19200", "--set", "train.epochs=2"],
    "dcgan28": [
        "gan",
        "--preset",
        "dcgan",
        "--set",
        "model.image_size=28",
        "--set",
        "data.limit=6400",
        "--set",
        "train.epochs=2",
    ],
}


def train_seconds(job: str, out: Path, nproc: int, threads: int) -> dict:
    """Train ``job`` with ``nproc`` processes of ``threads`` threads; the last epoch's seconds and images/s."""
    command = [sys.executable, "-m", "genlab", "train", *JOBS[job], "--set", "train.eval_images=0", "--out", str(out)]
    if nproc > 1:
        command += ["--nproc", str(nproc)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    epochs = [
        json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if '"kind": "epoch"' in line
    ]
    last = epochs[-1]  # the first epoch pays for warm-up
    return {"epoch_seconds": last["seconds"], "images_per_s": last["images_per_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--jobs", default=",".join(JOBS))
    args = parser.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for job in args.jobs.split(","):
            alone = train_seconds(job, Path(tmp) / f"{job}-1", 1, args.nproc)
            parallel = train_seconds(job, Path(tmp) / f"{job}-{args.nproc}", args.nproc, 1)
            rows[job] = {
                f"1_process_x_{args.nproc}_threads": alone,
                f"{args.nproc}_processes_x_1_thread": parallel,
                "speedup": round(parallel["images_per_s"] / alone["images_per_s"], 3),
            }
            print(job, rows[job], flush=True)
    save(f"ddp_cpu_{args.nproc}", {"nproc": args.nproc, "jobs": rows})


if __name__ == "__main__":
    main()

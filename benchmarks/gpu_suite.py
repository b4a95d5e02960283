"""Every GPU figure of docs/results/speed.md in one command (about 6 minutes on an H100/H200), written to one JSON:

1. the trainer against the bare loop for every case of speed.py, at each case's own batch;
2. the pytorch/examples-shaped DCGAN-64 (nz 100, ngf = ndf = 64) at batch 64 and at larger batches, to find
   its best batch, trainer and bare loop side by side;
3. the ``nll`` presets of the VAE and the hierarchical VAE: images/s and the time their epochs of 60,000 images
   would take (100 and 40);
4. diffusion: training images/s of the ``mnist`` and ``cifar`` presets (trainer and bare loop) and samples/s of
   their EMA denoisers with Heun at 18 steps (35 network evaluations) and DPM-Solver++(2M) at 10;
5. a data-parallel smoke run through torchrun with one process per GPU (NCCL).

Data are synthetic (uint8, MNIST-shaped or 64 px RGB) and live on the GPU, as genlab's loop keeps them.

    bash benchmarks/gpu_suite.sh            # or: python benchmarks/gpu_suite.py --out results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import speed
from genlab.devices import configure
from genlab.models import default_config

ROOT = Path(__file__).resolve().parents[1]
DCGAN64_BATCHES = (64, 256, 1024, 2048)
NLL_EPOCH_IMAGES = 60_000


def timed(label: str, results: dict, work) -> None:
    """Run one part, keeping its result or its error, and how long it took."""
    started = time.perf_counter()
    try:
        results[label] = work()
    except Exception as error:
        results[label] = {"error": f"{type(error).__name__}: {error}"}
    results[label + "_seconds"] = round(time.perf_counter() - started, 1)
    print(label, json.dumps(results[label])[:400], flush=True)


def speed_cases(device: torch.device, seconds: float) -> dict:
    return {case: speed.measure(case, device, seconds, 20, 2, []) for case in speed.CASES}


def dcgan64_batches(device: torch.device, seconds: float) -> dict:
    return {
        str(b): speed.measure("dcgan64", device, seconds, 10, 2, [f"train.batch_size={b}"]) for b in DCGAN64_BATCHES
    }


DIFFUSION_PRESETS = {"mnist": (1, 28), "cifar": (3, 32)}  # preset: (channels, image size)
DIFFUSION_SAMPLERS = (("heun", 18), ("dpmpp-2m", 10))


def diffusion(device: torch.device, seconds: float) -> dict:
    """Each preset's training speed against a bare loop, and its samples/s per sampler (batch 256)."""
    rows = {}
    for preset, (channels, size) in DIFFUSION_PRESETS.items():
        case = f"diffusion-{preset}"
        speed.CASES[case] = ("diffusion", preset, [], (channels, size, size), "none")
        rows[case] = {"training": speed.measure(case, device, seconds, 10, 1, [])}
        rows[case]["sampling"] = diffusion_sampling(preset, device)
    return rows


@torch.no_grad()
def diffusion_sampling(preset: str, device: torch.device, n: int = 256) -> dict:
    """Samples/s of a freshly built (untrained; the cost does not depend on the weights) model per sampler."""
    config, _ = speed.case_setup(f"diffusion-{preset}", device, [], 1)
    model = speed.fresh_model(config, device).eval()
    rates = {}
    for sampler, steps in DIFFUSION_SAMPLERS:
        model.sample(8, sampler=sampler, steps=steps)  # warm-up
        speed.synchronize(device)
        started = time.perf_counter()
        model.sample(n, sampler=sampler, steps=steps)
        speed.synchronize(device)
        seconds = time.perf_counter() - started
        rates[f"{sampler}-{steps}"] = {"samples_per_s": round(n / seconds, 1), "evaluations": model.last_evaluations}
    return rates


def nll_preset(case: str, device: torch.device, seconds: float) -> dict:
    """A likelihood preset's training speed and the minutes its epochs take (train.epochs of the preset)."""
    row = speed.measure(case, device, seconds, 20, 1, [])
    config, _ = speed.case_setup(case, device, [], 1)
    epochs = default_config(config.model_name, "nll").train.epochs
    epoch = NLL_EPOCH_IMAGES / row["trainer_images_per_s"]
    return {**row, "epoch_seconds": round(epoch, 2), "epochs": epochs, "minutes": round(epochs * epoch / 60, 2)}


def ddp_smoke(nproc: int) -> dict:
    """A short toy GAN run under torchrun with ``nproc`` processes (one per GPU): it must finish and load."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc-per-node={nproc}",
            "-m",
            "genlab",
            "train",
            "gan",
            "--data",
            "toy2d:grid25",
            "--preset",
            "toy",
            "--set",
            "train.epochs=2",
            "--set",
            "data.limit=65536",
            "--out",
            f"{tmp}/run",
        ]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=240)
        lines = (
            [
                json.loads(line)
                for line in Path(f"{tmp}/run/metrics.jsonl").read_text().splitlines()
                if '"kind": "epoch"' in line
            ]
            if done.returncode == 0
            else []
        )
        return {
            "returncode": done.returncode,
            "wall_seconds": round(time.perf_counter() - started, 1),
            "epochs": len(lines),
            "images_per_s": lines[-1]["images_per_s"] if lines else None,
            "tail": done.stderr[-1500:] if done.returncode else "",
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "gpu_suite.json"))
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each timed run")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu_suite: no CUDA GPU here; the CPU figures come from benchmarks/speed.py")
    device = torch.device("cuda")
    configure(device)
    results: dict = {
        "device": torch.cuda.get_device_name(device),
        "gpus": torch.cuda.device_count(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "host": platform.node(),
        "cpu_cores": os.cpu_count(),
    }
    timed("speed", results, lambda: speed_cases(device, args.seconds))
    timed("dcgan64_batch", results, lambda: dcgan64_batches(device, args.seconds))
    timed("vae_nll", results, lambda: nll_preset("vae-nll", device, args.seconds))
    timed("hvae_nll", results, lambda: nll_preset("hvae-nll", device, args.seconds))
    timed("diffusion", results, lambda: diffusion(device, args.seconds))
    timed("ddp_smoke", results, lambda: ddp_smoke(torch.cuda.device_count()))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

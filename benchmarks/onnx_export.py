"""ONNX export per model family, and onnxruntime against PyTorch sampling on the CPU.

Trains small runs of every family (reused when present), exports each with ``genlab export --format onnx``'s
library call, and writes benchmarks/results/onnx_export.json: per family and graph the file size, the largest
|onnxruntime - PyTorch| the export measured, the exporter and opset; then the sampling throughput (images/s) of
the MNIST GAN's generator (the ``quick`` DCGAN, the graph its samples come from) and of the ``quick`` VAE's
decoder, at batch 1 and 64: the median of TIMED_CALLS calls after WARMUP, both runtimes on the same number of
threads (THREADS), their calls alternating so that both see the same load (onnxruntime's threads sleep between
calls instead of spinning, so that they leave the cores to PyTorch's calls in between).

    python benchmarks/onnx_export.py          # about 5 minutes on two CPU cores; trained runs are reused
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from common import RESULTS, save
from genlab.export import export_onnx, open_session, read_manifest
from genlab.runs import load_run
from genlab.samplers import seeded
from genlab.testing.runs import write_domains

RUNS = RESULTS / "onnx_runs"
MNIST = ["--set", "data.limit=10000"]  # small runs: the numbers here are about the graphs, not sample quality
# the translators' `digits` sizes (width 32, 3 residual blocks) on 32-px squares (A) and circles (B), one epoch
TRANSLATOR = [
    "--preset",
    "digits",
    "--set",
    "model.image_size=32",
    "--set",
    "train.batch_size=8",
    "--set",
    "train.epochs=1",
    "--set",
    "data.test_fraction=0.1",
    "--set",
    "train.eval_images=8",
]
TRAIN = {  # family: (model, data, settings); translators get their two domains in train_runs
    "gan": ("gan", "mnist", ["--preset", "quick", *MNIST]),
    "conditional gan": ("gan", "mnist", ["--preset", "quick", "--set", "model.conditional=true", *MNIST]),
    "vae": ("vae", "mnist", ["--preset", "quick", *MNIST]),
    "autoencoder": ("autoencoder", "mnist", ["--preset", "quick", *MNIST]),
    "latent-gan": (
        "latent-gan",
        "mnist",
        ["--set", f"model.autoencoder={RUNS / 'autoencoder'}", "--set", "train.epochs=2", *MNIST],
    ),
    "cyclegan": ("cyclegan", "", TRANSLATOR),
    "refiner": ("refiner", "", TRANSLATOR),
}
TIMED = {"gan": "generator_ema.onnx", "vae": "decoder.onnx"}  # family: the graph sampling is timed through
BATCHES, WARMUP, TIMED_CALLS = (1, 64), 5, 25
THREADS = (2, 1)  # both runtimes on 2 threads (the table of the docs); 1 thread is steadier on a shared machine


def genlab(*args: str) -> None:
    """Run the genlab command as a user would."""
    subprocess.run([sys.executable, "-m", "genlab", *args], check=True)


def train_runs() -> dict[str, Path]:
    """family -> run folder, trained unless it is there (the autoencoder before the latent GAN on its codes)."""
    a, b = write_domains(RUNS / "domains", n=64)
    runs = {}
    for family, (model, data, settings) in TRAIN.items():
        run = runs[family] = RUNS / family.replace(" ", "-")
        if not (run / "checkpoint").is_dir():
            genlab("train", model, "--data", data or f"unpaired:{a},{b}", *settings, "--out", str(run), "--force")
    return runs


def export_all(runs: dict[str, Path]) -> dict[str, dict]:
    """family -> its manifest, every run exported into RUN/export/onnx (replacing an earlier export)."""
    manifests = {}
    for family, run in runs.items():
        started = time.perf_counter()
        manifests[family] = read_manifest(export_onnx(run, force=True).parent)
        manifests[family]["export_seconds"] = round(time.perf_counter() - started, 1)
    return manifests


def graph_rows(manifests: dict[str, dict]) -> list[dict]:
    """One row per exported graph: family, graph, bytes, max abs difference, exporter, opset."""
    return [
        {
            "family": family,
            "graph": g["file"],
            "bytes": g["bytes"],
            "max_abs_diff": g["max_abs_diff"],
            "tolerance": g["tolerance"],
            "exporter": g["exporter"],
            "opset": g["opset"],
            "inputs": ", ".join(f"{p['name']} {p['shape']}" for p in g["inputs"]),
        }
        for family, manifest in manifests.items()
        for g in manifest["graphs"]
    ]


def paired_medians(first, second, warmup: int = WARMUP, timed: int = TIMED_CALLS) -> tuple[float, float]:
    """The median wall times of two calls, each run ``timed`` times after ``warmup`` untimed runs, alternating so
    that both see the same load on a shared machine."""
    for _ in range(warmup):
        first(), second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(timed):
        for call, spent in zip((first, second), times):
            started = time.perf_counter()
            call()
            spent.append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


def throughput(run: Path, graph: str, threads: int) -> list[dict]:
    """Images/s of PyTorch (``model.decode``: what ``model.sample`` runs on its codes) and of onnxruntime (the
    exported graph) on the same codes, both on ``threads`` threads, per batch size."""
    model, _ = load_run(run, "cpu")
    session = open_session(run / "export" / "onnx" / graph, threads=threads, spinning=False)
    torch.set_num_threads(threads)
    rows = []
    for batch in BATCHES:
        z = model.prior_sample(batch, seeded(0))
        with torch.no_grad():
            torch_s, onnx_s = paired_medians(
                lambda z=z: model.decode(z), lambda z=z: session.run(None, {"z": z.numpy()})
            )
        rows.append(
            {
                "graph": graph,
                "threads": threads,
                "batch": batch,
                "torch_images_per_s": round(batch / torch_s, 1),
                "onnxruntime_images_per_s": round(batch / onnx_s, 1),
                "speedup": round(torch_s / onnx_s, 2),
            }
        )
    return rows


def markdown(graphs: list[dict], speed: dict[str, list[dict]]) -> str:
    """The two tables of the docs: exported graphs, and sampling throughput."""
    lines = ["| family | graph | inputs | size | max abs diff to PyTorch | exporter |", "|---|---|---|---|---|---|"]
    lines += [
        f"| {r['family']} | {r['graph']} | {r['inputs']} | {r['bytes'] / 1024:,.0f} KiB | "
        f"{r['max_abs_diff']:.1e} | {r['exporter']} (opset {r['opset']}) |"
        for r in graphs
    ]
    lines += [
        "",
        "| model | graph | threads | batch | PyTorch images/s | onnxruntime images/s | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {family} | {r['graph']} | {r['threads']} | {r['batch']} | {r['torch_images_per_s']:,.0f} | "
        f"{r['onnxruntime_images_per_s']:,.0f} | {r['speedup']:.2f}x |"
        for family, rows in speed.items()
        for r in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    load_before = os.getloadavg()
    runs = train_runs()
    manifests = export_all(runs)
    speed = {
        family: [row for threads in THREADS for row in throughput(runs[family], graph, threads)]
        for family, graph in TIMED.items()
    }
    graphs = graph_rows(manifests)
    torch.set_num_threads(max(THREADS))  # the machine record's thread count: the docs table's
    save(
        "onnx_export",
        {
            "graphs": graphs,
            "throughput": speed,
            "threads": THREADS,
            "warmup": WARMUP,
            "timed_calls": TIMED_CALLS,
            "export_seconds": {f: m["export_seconds"] for f, m in manifests.items()},
            "load_average_before_after": [load_before, os.getloadavg()],
        },
    )
    print(markdown(graphs, speed))


if __name__ == "__main__":
    main()

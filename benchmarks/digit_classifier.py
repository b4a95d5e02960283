"""The shipped digit feature networks: train a classifier preset on the 60,000 MNIST training images, export
the network to src/genlab/weights/NAME.safetensors (float16, config embedded), measure its accuracy on all
10,000 test images -- clean and degraded (noise, blur, contrast, inversion, stroke width) -- and write
src/genlab/weights/NAME.json (provenance and numbers).

    OMP_NUM_THREADS=2 nice -n 5 python benchmarks/digit_classifier.py   # v1 `digits` (CPU: ~25 min)
    OMP_NUM_THREADS=1 python benchmarks/digit_classifier.py --version v2       # `digits-v2` (1 core: ~40 min)
    OMP_NUM_THREADS=1 python benchmarks/digit_classifier.py --version check    # `digits-check` (1 core: ~8 min)
    OMP_NUM_THREADS=1 python benchmarks/digit_classifier.py --version plain    # `digits-plain` (1 core: ~8 min)
    python benchmarks/digit_classifier.py --version v2 --skip-train           # export and evaluate the run again
    python benchmarks/digit_classifier.py --robustness                        # v1 vs v2 vs check on degraded sets

The training is the same as `genlab train classifier --data mnist --preset PRESET [--set ...] --out RUN`
(VERSIONS below); `--resume` continues an interrupted run exactly.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from common import RESULTS, machine, save
from genlab import __version__
from genlab.data import load_dataset
from genlab.metrics.extractors import WEIGHTS_DIR, DigitFeatures, export_classifier
from genlab.ops.augment import add_noise, contrast, dilate, erode, gaussian_blur, invert
from genlab.training import load_run, train

COMMAND = "OMP_NUM_THREADS=2 nice -n 5 python benchmarks/digit_classifier.py"
DTYPES = {"float16": torch.float16, "float32": torch.float32}
# version -> (extractor name, preset, extra overrides, run folder): v1, the robust v2 (issue 16) and the small
# independent network of benchmarks/extractor_agreement.py (other layout, other seed; never a default)
VERSIONS = {
    "v1": ("digits", "digits", [], "digit_classifier"),
    "v2": ("digits-v2", "digits-v2", [], "digit_classifier_v2"),
    "check": (
        "digits-check",
        "digits-v2",
        [
            "model.widths=16,32,64",
            "model.convs_per_stage=1",
            "model.features=64",
            "model.dropout=0.1",
            "train.seed=7",
            "train.epochs=3",
            "train.eval_images=2000",
        ],
        "digit_check",
    ),
    "plain": ("digits-plain", "digits-plain", [], "digit_plain"),
}


def degraded_sets(images: torch.Tensor, seed: int = 1) -> dict[str, torch.Tensor]:
    """Float [0, 1] test images, clean and degraded the ways generators get wrong (noise clamped to [0, 1])."""
    x = images.float() / 255 if not images.is_floating_point() else images
    gen = torch.Generator().manual_seed(seed)
    return {
        "clean": x,
        "noise 0.1": add_noise(x, 0.1, gen),
        "noise 0.2": add_noise(x, 0.2, gen),
        "noise 0.3": add_noise(x, 0.3, gen),
        "blur 1 px": gaussian_blur(x, 1.0),
        "blur 2 px": gaussian_blur(x, 2.0),
        "blur 2.5 px": gaussian_blur(x, 2.5),
        "contrast 0.5": contrast(x, 0.5),
        "inverted": invert(x),
        "thicker strokes": dilate(x),
        "thinner strokes": erode(x),
    }


@torch.no_grad()
def robustness(logits_fn, images: torch.Tensor, labels: torch.Tensor) -> dict[str, dict]:
    """Accuracy and the largest share one class takes of the predictions, per degraded test set."""
    rows = {}
    for name, x in degraded_sets(images).items():
        predicted = torch.cat([logits_fn(x[i : i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
        counts = torch.bincount(predicted, minlength=10)
        rows[name] = {
            "accuracy": round(float((predicted == labels).float().mean()), 4),
            "largest_class_share": round(float(counts.max()) / len(x), 4),
            "largest_class": int(counts.argmax()),
        }
    return rows


@torch.no_grad()
def accuracy(logits_fn, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> dict:
    """Top-1 accuracy of ``logits_fn`` over uint8 images."""
    correct = sum(
        int((logits_fn(images[i : i + batch_size]).argmax(1) == labels[i : i + batch_size]).sum())
        for i in range(0, len(images), batch_size)
    )
    return {"accuracy": correct / len(images), "errors": len(images) - correct, "images": len(images)}


def train_run(run: Path, preset: str, overrides: list[str], resume: bool = False) -> None:
    """Train the preset into ``run`` (or continue it) and add the wall time to train_time.json next to it."""
    started = time.perf_counter()
    train("classifier", preset=preset, overrides=overrides, out=run, force=not resume, resume=resume)
    record_time(run, time.perf_counter() - started)


def record_time(run: Path, seconds: float) -> None:
    """Add ``seconds`` of training to the run's train_time.json (resumed runs train in pieces)."""
    path = run / "train_time.json"
    before = json.loads(path.read_text()) if path.is_file() else {"seconds": 0.0, "pieces": 0}
    path.write_text(
        json.dumps(
            {
                "seconds": round(before["seconds"] + seconds, 1),
                "pieces": before.get("pieces", 1) + 1,
                "threads": torch.get_num_threads(),
            }
        )
    )


def epoch_history(run: Path) -> list[dict]:
    """Per-epoch test accuracy and training seconds from the run's metrics.jsonl."""
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [
        {
            "epoch": r["epoch"],
            "test_accuracy": round(r["test/accuracy"], 6),
            "train_accuracy": round(r["train/accuracy"], 6),
            "seconds": r["seconds"],
        }
        for r in records
        if r.get("kind") == "epoch"
    ]


def export_record(version: str, run: Path, out: Path, dtype: str) -> dict:
    """Export the run to ``out`` and describe it: provenance, clean and degraded test accuracy."""
    name, preset, overrides, _ = VERSIONS[version]
    sha = export_classifier(run, out, DTYPES[dtype])
    test = load_dataset("mnist", "test")
    model, config = load_run(run)
    exported = accuracy(DigitFeatures(out).logits, test.images, test.labels)
    full_precision = accuracy(lambda x: model.logits(x.float() / 255), test.images, test.labels)
    trained = json.loads((run / "train_time.json").read_text())
    command = (
        COMMAND if version == "v1" else f"OMP_NUM_THREADS=1 python benchmarks/digit_classifier.py --version {version}"
    )
    cli = " ".join([f"genlab train classifier --data mnist --preset {preset}", *(f"--set {o}" for o in overrides)])
    return {
        "name": name,
        "file": out.name,
        "sha256": sha,
        "bytes": out.stat().st_size,
        "dtype": dtype,
        "num_features": config.model.features,
        "num_classes": config.model.num_classes,
        "input": "images [N, 1|3, H, W], float in [0, 1] or uint8; luma (ITU-R 601), resized to 28x28",
        "test_accuracy": exported["accuracy"],
        "test_errors": exported["errors"],
        "test_images": exported["images"],
        "test_accuracy_float32_run": full_precision["accuracy"],
        "degraded_test_sets": robustness(DigitFeatures(out).logits, test.images, test.labels),
        "training": {
            "command": command,
            "equivalent_cli": cli,
            "train_images": 60000,
            "epochs": config.train.epochs,
            "wall_seconds": trained["seconds"],
            "threads": trained["threads"],
            "epochs_history": epoch_history(run),
        },
        "config": config.to_dict(),
        "genlab": __version__,
        "torch": torch.__version__,
        "machine": machine(),
    }


def compare_shipped(names: list[str]) -> None:
    """benchmarks/results/digit_robustness.json: degraded-set accuracy of shipped extractors side by side."""
    test = load_dataset("mnist", "test")
    rows = {n: robustness(DigitFeatures(n).logits, test.images, test.labels) for n in names}
    save("digit_robustness", {"extractors": {n: DigitFeatures(n).weights_sha256 for n in names}, "rows": rows})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", choices=sorted(VERSIONS), default="v1", help="which network (VERSIONS)")
    parser.add_argument("--run", help="training run folder (default benchmarks/results/<per version>)")
    parser.add_argument("--out", help="exported weights file (default src/genlab/weights/NAME.safetensors)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float16", help="storage type of the weights")
    parser.add_argument("--skip-train", action="store_true", help="export and evaluate an existing run")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run, then export")
    parser.add_argument("--robustness", action="store_true", help="only compare the shipped v1, v2, check and plain")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra training override")
    args = parser.parse_args()
    if args.robustness:
        return compare_shipped([VERSIONS[v][0] for v in ("v1", "v2", "check", "plain")])
    name, preset, overrides, folder = VERSIONS[args.version]
    run = Path(args.run or RESULTS / folder)
    out = Path(args.out or WEIGHTS_DIR / f"{name}.safetensors")
    if not args.skip_train:
        train_run(run, preset, overrides + args.overrides, resume=args.resume)
    record = export_record(args.version, run, out, args.dtype)
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: record[k] for k in ("sha256", "bytes", "test_accuracy", "degraded_test_sets")}, indent=1))


if __name__ == "__main__":
    main()

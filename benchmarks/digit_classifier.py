"""The shipped digit feature network: train the classifier's `digits` preset on the 60,000 MNIST training
images, export the network to src/genlab/weights/digits.safetensors (float16, config embedded), measure its
accuracy on all 10,000 test images and write src/genlab/weights/digits.json (provenance and numbers).

    OMP_NUM_THREADS=2 nice -n 5 python benchmarks/digit_classifier.py   # train + export + evaluate (CPU: ~25 min)
    python benchmarks/digit_classifier.py --skip-train                  # export and evaluate the run again

The training is the same as `genlab train classifier --data mnist --preset digits --out RUN`.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from common import RESULTS, machine
from genlab import __version__
from genlab.data import load_dataset
from genlab.metrics.extractors import WEIGHTS_DIR, DigitFeatures, export_classifier
from genlab.training import load_run, train

COMMAND = "OMP_NUM_THREADS=2 nice -n 5 python benchmarks/digit_classifier.py"
DTYPES = {"float16": torch.float16, "float32": torch.float32}


@torch.no_grad()
def accuracy(logits_fn, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> dict:
    """Top-1 accuracy of ``logits_fn`` over uint8 images."""
    correct = sum(int((logits_fn(images[i:i + batch_size]).argmax(1) == labels[i:i + batch_size]).sum())
                  for i in range(0, len(images), batch_size))
    return {"accuracy": correct / len(images), "errors": len(images) - correct, "images": len(images)}


def train_run(run: Path, overrides: list[str]) -> None:
    """Train the preset into ``run`` and record the wall time next to it."""
    started = time.perf_counter()
    train("classifier", preset="digits", overrides=overrides, out=run, force=True)
    seconds = round(time.perf_counter() - started, 1)
    (run / "train_time.json").write_text(json.dumps({"seconds": seconds, "threads": torch.get_num_threads()}))


def epoch_history(run: Path) -> list[dict]:
    """Per-epoch test accuracy and training seconds from the run's metrics.jsonl."""
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [{"epoch": r["epoch"], "test_accuracy": round(r["test/accuracy"], 6),
             "train_accuracy": round(r["train/accuracy"], 6), "seconds": r["seconds"]}
            for r in records if r.get("kind") == "epoch"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default=str(RESULTS / "digit_classifier"), help="training run folder")
    parser.add_argument("--out", default=str(WEIGHTS_DIR / "digits.safetensors"), help="exported weights file")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float16", help="storage type of the weights")
    parser.add_argument("--skip-train", action="store_true", help="export and evaluate an existing run")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra training override")
    args = parser.parse_args()
    run, out = Path(args.run), Path(args.out)
    if not args.skip_train:
        train_run(run, args.overrides)
    sha = export_classifier(run, out, DTYPES[args.dtype])
    test = load_dataset("mnist", "test")
    model, config = load_run(run)
    exported = accuracy(DigitFeatures(out).logits, test.images, test.labels)
    full_precision = accuracy(lambda x: model.logits(x.float() / 255), test.images, test.labels)
    trained = json.loads((run / "train_time.json").read_text())
    record = {
        "name": out.stem, "file": out.name, "sha256": sha, "bytes": out.stat().st_size, "dtype": args.dtype,
        "num_features": config.model.features, "num_classes": config.model.num_classes,
        "input": "images [N, 1|3, H, W], float in [0, 1] or uint8; luma (ITU-R 601), resized to 28x28",
        "test_accuracy": exported["accuracy"], "test_errors": exported["errors"], "test_images": exported["images"],
        "test_accuracy_float32_run": full_precision["accuracy"],
        "training": {"command": COMMAND, "equivalent_cli": "genlab train classifier --data mnist --preset digits",
                     "train_images": 60000, "epochs": config.train.epochs, "wall_seconds": trained["seconds"],
                     "threads": trained["threads"], "epochs_history": epoch_history(run)},
        "config": config.to_dict(), "genlab": __version__, "torch": torch.__version__, "machine": machine(),
    }
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: record[k] for k in ("sha256", "bytes", "test_accuracy", "test_accuracy_float32_run")}))


if __name__ == "__main__":
    main()

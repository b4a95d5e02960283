"""Training throughput (images/s) of the VAE presets in the generic loop, data resident on the device.

    python benchmarks/throughput.py [--device auto] [--steps 200]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from common import save
from genlab.config import default_config
from genlab.data import ImageData
from genlab.registry import get_model_class
from genlab.training import pick_device
from genlab.training.loop import Trainer


def measure(preset: str, device: torch.device, steps: int, batch_size: int) -> float:
    """Images per second over ``steps`` optimizer steps after a warm-up, through Trainer.fit."""
    config = default_config("vae", preset)
    n = batch_size * (steps + 20)
    images = (torch.rand(n, 1, 28, 28) < 0.2).to(torch.uint8) * 255
    data = ImageData(images, torch.zeros(n, dtype=torch.long))
    config.data.binarize = "dynamic"
    config.train.batch_size, config.train.epochs, config.train.eval_images = batch_size, 1, 0
    get_model_class("vae").resolve_config(config.model, config.data, data)
    with tempfile.TemporaryDirectory() as out:
        config.train.max_steps = 20  # warm-up (allocator, kernels)
        trainer = Trainer(get_model_class("vae")(config.model), config, data, data.head(1), Path(out), device,
                          echo=lambda s: None)
        trainer.fit()
        trainer.total_steps = 20 + steps
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        trainer.fit()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return steps * batch_size / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    device = pick_device(args.device)
    rows = {p: round(measure(p, device, args.steps, args.batch_size), 1) for p in ("quick", "nll")}
    save(f"throughput_{device.type}", {"device": str(device), "batch_size": args.batch_size,
                                       "steps": args.steps, "images_per_s": rows})


if __name__ == "__main__":
    main()

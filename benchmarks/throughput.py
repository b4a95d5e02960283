"""Training throughput (images/s) in the generic loop, data resident on the device as uint8.

python benchmarks/throughput.py [--device auto] [--steps 100] [--cases vae-nll,dcgan28]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from common import save
from genlab.config import apply_overrides
from genlab.data import ImageData
from genlab.devices import pick_device
from genlab.models import default_config, get_model_class
from genlab.training.loop import Trainer

CASES = {  # name: (model, preset, overrides, image shape, binarize)
    "vae-quick": ("vae", "quick", [], (1, 28, 28), "dynamic"),
    "vae-nll": ("vae", "nll", [], (1, 28, 28), "dynamic"),
    "dcgan28": ("gan", "dcgan", [], (1, 28, 28), "none"),  # ngf=ndf=64, batch 64
    "dcgan64": ("gan", "dcgan", [], (3, 64, 64), "none"),  # the pytorch/examples shape, batch 64
    "wgangp28": ("gan", "wgan-gp", ["train.batch_size=64"], (1, 28, 28), "none"),  # n_critic=5
}


def measure(case: str, device: torch.device, steps: int) -> float:
    """Real training images consumed per second over ``steps`` steps after a warm-up, through Trainer.fit
    (a WGAN-GP step with n_critic=5 consumes five batches)."""
    name, preset, overrides, shape, binarize = CASES[case]
    config = apply_overrides(default_config(name, preset), overrides)
    batch_size = config.train.batch_size
    per_step = getattr(config.model, "n_critic", 1)
    n = batch_size * (steps + 20) * per_step
    images = (torch.rand(n, *shape) < 0.2).to(torch.uint8) * 255
    data = ImageData(images, torch.zeros(n, dtype=torch.long))
    config.data.binarize = binarize
    config.train.epochs, config.train.eval_images = 1, 0
    get_model_class(name).resolve_config(config.model, config.data, data)
    with tempfile.TemporaryDirectory() as out:
        config.train.max_steps = 20  # warm-up (allocator, kernels)
        trainer = Trainer(
            get_model_class(name)(config.model), config, data, data.head(1), Path(out), device, echo=lambda s: None
        )
        trainer.fit()
        trainer.total_steps = 20 + steps
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        trainer.fit()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return steps * batch_size * per_step / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    args = parser.parse_args()
    device = pick_device(args.device)
    rows = {}
    for case in args.cases.split(","):
        rows[case] = round(measure(case, device, args.steps), 1)
        print(f"{case}: {rows[case]} img/s", flush=True)
    save(f"throughput_{device.type}", {"device": str(device), "steps": args.steps, "images_per_s": rows})


if __name__ == "__main__":
    main()

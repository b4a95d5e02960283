"""genlab's trainer against a bare loop over the same model, side by side in one run: the overhead as a ratio.

(a) ``Trainer.fit`` as ``genlab train`` runs it (device-resident uint8 data, per-step bookkeeping, logging;
no per-epoch pictures); (b) the loop people write by hand: the same networks, optimizers, batch and
precision, data already on the device as float batches, ``loss.backward(); opt.step()`` per phase. Both
start from the same seed; runs alternate (a, b, a, b, ...) and the best of ``--repeats`` counts.

    python benchmarks/speed.py                                  # CPU: every case, a few minutes
    python benchmarks/speed.py --device cuda                    # a GPU
    python benchmarks/speed.py --cases dcgan64 --batch-size 1024
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from common import save
from genlab.config import apply_overrides
from genlab.data import ImageData, to_float
from genlab.devices import autocast, configure, pick_device, resolve_memory_format, resolve_precision
from genlab.models import build_model, default_config
from genlab.runs import resolve_model_config
from genlab.training import Trainer

CASES = {  # name: (model, preset, overrides, image shape, labels)
    "vae-quick": ("vae", "quick", [], (1, 28, 28), "none"),
    "vae-nll": ("vae", "nll", [], (1, 28, 28), "none"),
    "dcgan28": ("gan", "dcgan", ["model.image_size=28"], (1, 28, 28), "none"),
    "dcgan64": ("gan", "dcgan", ["model.latent_dim=100", "model.g_width=64", "model.d_width=64"], (3, 64, 64), "none"),
    "wgangp28": ("gan", "wgan-gp", ["model.image_size=28", "train.batch_size=64"], (1, 28, 28), "none"),
    "cyclegan-digits": ("cyclegan", "digits", [], (1, 28, 28), "domains"),
    "diffusion-quick": ("diffusion", "quick", [], (1, 28, 28), "none"),
    "hvae-nll": ("hvae", "nll", [], (1, 28, 28), "none"),  # unbinarized: its 1-channel logistic mixture head
}


def case_setup(case: str, device: torch.device, extra: list[str], steps: int) -> tuple[Any, ImageData]:
    """The case's resolved run config and synthetic uint8 data for ``steps`` steps (plus warm-up)."""
    name, preset, overrides, shape, labels = CASES[case]
    config = apply_overrides(default_config(name, preset), overrides + extra)
    per_step = getattr(config.model, "n_critic", 1)
    n = config.train.batch_size * per_step * (steps + 10)
    gen = torch.Generator().manual_seed(0)
    images = (torch.randint(0, 10, (n, *shape), generator=gen, dtype=torch.uint8) < 3).to(torch.uint8) * 255
    targets = torch.arange(n) % 2 if labels == "domains" else torch.zeros(n, dtype=torch.long)
    data = ImageData(images, targets, ["A", "B"] if labels == "domains" else ["0"])
    config.data.binarize = "none"
    config.train.epochs, config.train.eval_images = 1, 0
    resolve_model_config(config, data)
    return config, data.to(device)


def fresh_model(config: Any, device: torch.device) -> Any:
    """The case's networks, seeded, on the device in the loop's memory layout."""
    torch.manual_seed(0)
    model = build_model(config.model_name, config.model)
    return model.to(device=device, memory_format=resolve_memory_format(device, config.train.memory_format)).train()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_trainer(config: Any, data: ImageData, device: torch.device, steps: int, warmup: int) -> float:
    """Seconds per step of genlab's Trainer (after ``warmup`` steps). The checkpoint a run writes when it stops
    is left out of the timing: training writes one per epoch, not one per ``steps`` (see ``checkpoint_ms``)."""
    with tempfile.TemporaryDirectory() as out:
        config.train.max_steps = warmup
        trainer = Trainer(
            fresh_model(config, device),
            config,
            data,
            data.head(1),
            Path(out),
            device,
            echo=lambda s: None,
            callbacks=(),
        )
        trainer.fit()
        trainer.total_steps = warmup + steps
        trainer.checkpoint = lambda: None
        synchronize(device)
        started = time.perf_counter()
        trainer.fit()
        synchronize(device)
        return (time.perf_counter() - started) / steps


def time_checkpoint(config: Any, data: ImageData, device: torch.device) -> float:
    """Seconds one checkpoint (weights + training state, fsynced and swapped in) takes."""
    with tempfile.TemporaryDirectory() as out:
        config.train.max_steps = 1
        trainer = Trainer(
            fresh_model(config, device),
            config,
            data,
            data.head(1),
            Path(out),
            device,
            echo=lambda s: None,
            callbacks=(),
        )
        trainer.fit()
        started = time.perf_counter()
        trainer.checkpoint()
        return time.perf_counter() - started


def time_bare_loop(config: Any, data: ImageData, device: torch.device, steps: int, warmup: int) -> float:
    """Seconds per step of the hand-written loop: the same model, optimizers, batch and precision."""
    model = fresh_model(config, device)
    optimizers = model.optimizers(config.train)
    precision = resolve_precision(device, config.train.precision)

    def amp() -> Any:
        return autocast(device, precision)

    batch, per_step = config.train.batch_size, getattr(model, "batches_per_step", 1)
    order = torch.randperm(len(data), device=device)

    def step(i: int) -> None:  # as in the trainer: critic phase j sees real batch j, the G phase the last one
        real = []
        for j in range(per_step):
            idx = order[((i * per_step + j) * batch) % (len(data) - batch) :][:batch]
            real.append((model.prepare(to_float(data.images[idx])), data.labels[idx]))
        for j, phase in enumerate(model.step_phases):
            optimizers[phase].zero_grad(set_to_none=True)
            with amp():
                loss = model.loss(real[min(j, per_step - 1)], phase)["loss"]
            loss.backward()
            optimizers[phase].step()
            model.after_phase(phase)

    for i in range(warmup):
        step(i)
    synchronize(device)
    started = time.perf_counter()
    for i in range(steps):
        step(warmup + i)
    synchronize(device)
    return (time.perf_counter() - started) / steps


def measure(case: str, device: torch.device, seconds: float, warmup: int, repeats: int, extra: list[str]) -> dict:
    """Best-of-``repeats`` step time of the trainer and of the bare loop, alternating, and their ratio; each timed
    run takes about ``seconds``."""
    config, data = case_setup(case, device, extra, 1)
    steps = steps_for(config, data, device, seconds, warmup)
    config, data = case_setup(case, device, extra, steps + warmup)
    trainer, bare = [], []
    for _ in range(repeats):
        trainer.append(time_trainer(config, data, device, steps, warmup))
        bare.append(time_bare_loop(config, data, device, steps, warmup))
    images = config.train.batch_size * getattr(config.model, "n_critic", 1)  # real images one step consumes
    t, b = min(trainer), min(bare)
    return {
        "batch_size": config.train.batch_size,
        "images_per_step": images,
        "steps": steps,
        "precision": resolve_precision(device, config.train.precision),
        "trainer_step_ms": round(1000 * t, 2),
        "bare_step_ms": round(1000 * b, 2),
        "trainer_images_per_s": round(images / t, 1),
        "bare_images_per_s": round(images / b, 1),
        "trainer_vs_bare": round(b / t, 3),
        "trainer_step_ms_all": [round(1000 * v, 2) for v in trainer],
        "bare_step_ms_all": [round(1000 * v, 2) for v in bare],
        "checkpoint_ms": round(1000 * time_checkpoint(config, data, device), 1),
    }


def steps_for(config: Any, data: ImageData, device: torch.device, seconds: float, warmup: int) -> int:
    """Steps that make a timed run last about ``seconds`` (10 to 1,000), from a short bare-loop probe."""
    probe = time_bare_loop(config, data, device, 2, warmup)
    return max(10, min(1000, int(seconds / probe)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES))
    parser.add_argument(
        "--seconds", type=float, default=0, help="length of each timed run (default: 8 on CPU, 5 on GPU)"
    )
    parser.add_argument("--warmup", type=int, default=0, help="untimed steps first (default: 3 on CPU, 20 on GPU)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=0, help="override every case's batch size")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra config override for every case, e.g. train.precision=bf16",
    )
    parser.add_argument("--name", default="", help="result file suffix")
    args = parser.parse_args()
    device = pick_device(args.device)
    configure(device)
    gpu = device.type == "cuda"
    seconds, warmup = args.seconds or (5 if gpu else 8), args.warmup or (20 if gpu else 3)
    extra = args.overrides + ([f"train.batch_size={args.batch_size}"] if args.batch_size else [])
    rows = {}
    for case in args.cases.split(","):
        rows[case] = measure(case, device, seconds, warmup, args.repeats, extra)
        r = rows[case]
        print(
            f"{case}: trainer {r['trainer_images_per_s']} img/s, bare loop {r['bare_images_per_s']} img/s, "
            f"ratio {r['trainer_vs_bare']}",
            flush=True,
        )
    save(
        f"speed_{device.type}{args.name}",
        {
            "device": str(device),
            "device_name": device_name(device),
            "seconds_per_run": seconds,
            "warmup": warmup,
            "repeats": args.repeats,
            "overrides": extra,
            "cases": rows,
        },
    )


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


if __name__ == "__main__":
    main()

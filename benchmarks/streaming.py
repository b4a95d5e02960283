"""Training throughput (images/s) on a folder of PNGs held in memory vs streamed from its decoded cache on disk
(data.stream=always; docs/data.md). Target: streamed >= 90% of in memory.

Builds once, in parallel, a seeded folder of synthetic but image-like RGB PNGs (a gradient sky, shapes, grain) in
benchmarks/results/streaming-photos-N-SIZE/, decodes it once into its cache, then alternates short training runs
of a small DCGAN (preset quick) on the same training split in memory and streamed, in one process, so a busy
machine slows both alike; prints and saves benchmarks/results/streaming.json.

python benchmarks/streaming.py                      # 100,000 64x64 images (the full run)
python benchmarks/streaming.py --images 2000 --steps 20 --rounds 2   # a quick check that it works
options: --device auto --workers 2 --batch-size 64 --warmup 10 --cold (evict the streamed file from the page
cache before each streamed run: reads come from the disk, as for data larger than the memory; Linux)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from common import RESULTS, save
from genlab.config import apply_overrides
from genlab.data import ImageData, batches, load_dataset
from genlab.devices import pick_device
from genlab.models import default_config, get_model_class
from genlab.training import Callback
from genlab.training.loop import Trainer

MODEL, PRESET = "gan", "quick"  # a DCGAN of 32 base channels
CLASSES = 10  # subfolders


def photo(index: int, size: int, seed: int) -> Image.Image:
    """A seeded image-like picture: a two-colour gradient, a few filled shapes, a slight blur and grain."""
    rng = np.random.default_rng([seed, index])
    top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    ramp = np.linspace(0, 1, size)[:, None, None]
    sky = (top * (1 - ramp) + bottom * ramp).repeat(size, axis=1)
    img = Image.fromarray(sky.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(rng.integers(1, 5)):
        x0, y0 = rng.integers(-size // 4, size, 2)
        w, h = rng.integers(size // 8, size // 2, 2)
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = ("ellipse", "rectangle", "polygon")[rng.integers(3)]
        if shape == "polygon":
            draw.polygon([tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(3)], fill=fill)
        else:
            getattr(draw, shape)([x0, y0, x0 + w, y0 + h], fill=fill)
    img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 1.2))))
    grain = rng.normal(0, 6, (size, size, 3))
    return Image.fromarray(np.clip(np.asarray(img, np.float64) + grain, 0, 255).astype(np.uint8), "RGB")


def write_range(folder: str, begin: int, end: int, size: int, seed: int) -> int:
    """Write photos [begin, end) into their class subfolders; returns how many."""
    for i in range(begin, end):
        photo(i, size, seed).save(Path(folder) / f"c{i % CLASSES}" / f"{i:06d}.png")
    return end - begin


def build_folder(n: int, size: int, seed: int, jobs: int) -> Path:
    """The benchmark's folder of ``n`` PNGs, written once (a marker file says it is complete)."""
    folder = RESULTS / f"streaming-photos-{n}-{size}"
    marker = folder / "complete.json"
    wanted = {"images": n, "size": size, "seed": seed}
    with contextlib.suppress(OSError, ValueError):
        if json.loads(marker.read_text()) == wanted:
            return folder
    for c in range(CLASSES):
        (folder / f"c{c}").mkdir(parents=True, exist_ok=True)
    started, step = time.perf_counter(), 500
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        begins = list(range(0, n, step))
        ends, k = [min(n, b + step) for b in begins], len(begins)
        done = sum(pool.map(write_range, [str(folder)] * k, begins, ends, [size] * k, [seed] * k))
    marker.write_text(json.dumps(wanted))
    print(f"wrote {done} images into {folder} in {time.perf_counter() - started:.1f} s", flush=True)
    return folder


class Timer(Callback):
    """The time from the end of step ``warmup`` to the end of step ``warmup + steps``."""

    def __init__(self, warmup: int, steps: int, device: torch.device):
        self.marks, self.warmup, self.steps, self.device = {}, warmup, steps, device

    def on_step_end(self, trainer) -> None:
        if trainer.state.step in (self.warmup, self.warmup + self.steps):
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            self.marks[trainer.state.step] = time.perf_counter()

    def seconds(self) -> float:
        return self.marks[self.warmup + self.steps] - self.marks[self.warmup]


def measure(config, train: ImageData, test: ImageData, device: torch.device, warmup: int, steps: int) -> float:
    """Images/s of the steps after ``warmup`` (allocator, kernels, worker start-up) in one training run."""
    config.train.max_steps = warmup + steps
    timer = Timer(warmup, steps, device)
    torch.manual_seed(0)
    model = get_model_class(MODEL)(config.model)
    with tempfile.TemporaryDirectory() as out:
        Trainer(model, config, train, test, Path(out), device, echo=lambda s: None, callbacks=[timer]).fit()
    return steps * config.train.batch_size / timer.seconds()


def read_ms(data: ImageData, batch_size: int, workers: int, batches_read: int) -> float:
    """Milliseconds per batch of reading alone (``batches`` as training calls it, no model): the data path's own
    cost, which a busy machine blurs less than the training runs'."""
    started, n = time.perf_counter(), 0
    while n < batches_read:
        for _ in batches(data, batch_size, shuffle=True, seed=n, drop_last=True, workers=workers):
            n += 1
            if n == batches_read:
                break
    return round(1000 * (time.perf_counter() - started) / n, 3)


def evict(data: ImageData) -> None:
    """Drop a streamed split's file from the page cache (Linux), so the next reads come from the disk."""
    fd = os.open(data.stream.path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=2, help="data.workers: decoding and streamed reads")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=10, help="steps before the timed ones, each run")
    parser.add_argument("--steps", type=int, default=100, help="timed steps of each run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, alternating")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="processes writing the PNGs")
    parser.add_argument("--cold", action="store_true", help="evict the streamed file before each streamed run")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    device = pick_device(args.device)
    folder = build_folder(args.images, args.size, args.seed, args.jobs)
    started = time.perf_counter()
    streamed = load_dataset(f"folder:{folder}", image_size=args.size, stream="always", workers=args.workers)
    loaded_s = time.perf_counter() - started  # decoding into the cache the first time, else finding it
    memory = replace(streamed, images=streamed.images.clone(), stream=None)  # the same images, in memory
    test = memory.head(args.batch_size)
    overrides = [f"train.batch_size={args.batch_size}", "train.epochs=1000", "train.eval_images=0"]
    config = apply_overrides(default_config(MODEL, PRESET), overrides + [f"data.workers={args.workers}"])
    get_model_class(MODEL).resolve_config(config.model, config.data, memory)
    rates: dict[str, list[float]] = {"memory": [], "streamed": []}
    for round_ in range(args.rounds):
        for mode, data in (("memory", memory), ("streamed", streamed))[:: 1 if round_ % 2 == 0 else -1]:
            if mode == "streamed" and args.cold:
                evict(data)
            rates[mode].append(round(measure(config, data, test, device, args.warmup, args.steps), 1))
            print(f"round {round_ + 1}: {mode} {rates[mode][-1]} img/s", flush=True)
    medians = {mode: round(statistics.median(r), 1) for mode, r in rates.items()}
    reads = 20 * args.steps
    reading = {"memory": read_ms(memory, args.batch_size, 0, reads)}
    reading["streamed"] = read_ms(streamed, args.batch_size, args.workers, reads)
    ratio = medians["streamed"] / medians["memory"]
    result = {
        "images": args.images,
        "train_images": len(streamed),
        "size": args.size,
        "model": f"{MODEL} --preset {PRESET}",
        "device": str(device),
        "workers": args.workers,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "cold": args.cold,
        "load_s": round(loaded_s, 1),
        "read_ms_per_batch": reading,
        "images_per_s": rates,
        "median_images_per_s": medians,
        "streamed_over_memory": round(ratio, 3),
        "target": 0.9,
        "met": ratio >= 0.9,
    }
    save("streaming", result)


if __name__ == "__main__":
    main()

"""The sample pictures of the model pages, drawn from real runs: docs/images/NAME.png, an 8 x 8 grid of seeded
samples of each run; of a translator (UNIT too), a column per image of domain A's first 8 test images: the input,
its translation a2b and the translation back (a one-way refiner: input and refined).

    python benchmarks/docs_pictures.py vae=runs/vae gan=runs/gan diffusion=runs/diffusion
    python benchmarks/docs_pictures.py cyclegan=runs/m2mm --seed 3
    python benchmarks/docs_pictures.py hvae-t08=runs/hvae --temperature 0.8

Writes docs/images/NAME.png and docs/images/pictures.json (which run, its weights' sha256, the seed).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from genlab.data import load_split, to_float
from genlab.runs import load_run, weights_identity
from genlab.samplers import round_trip, sample_images
from genlab.viz import save_grid

IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"


def picture(run: str, path: Path, seed: int, temperature: float | None = None) -> None:
    """A grid of the run's translations of domain A's test images, or else of its samples (at ``temperature``
    for a hierarchical VAE)."""
    model, config = load_run(run)
    if temperature is not None:
        model.require("set_temperature", "sample at a temperature")
        model.set_temperature(temperature)
    if not model.supports("translate"):
        save_grid(sample_images(model, 64, seed), path, nrow=8, scale=2)
        return
    test = load_split(config, "test")
    images = to_float(test.images[test.labels == 0][:8])  # unpaired data interleaves A, B: label 0 is A
    trips = round_trip(model, images.to(model.device), "a2b")
    save_grid(trips.transpose(0, 1).flatten(0, 1), path, nrow=len(trips), scale=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="NAME=RUN", help="the picture's name and the run it shows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperature", type=float, help="hierarchical VAEs: sample at this temperature")
    args = parser.parse_args()
    IMAGES.mkdir(parents=True, exist_ok=True)
    record_path = IMAGES / "pictures.json"
    record = json.loads(record_path.read_text()) if record_path.is_file() else {}
    for item in args.runs:
        name, _, run = item.partition("=")
        torch.manual_seed(args.seed)
        picture(run, IMAGES / f"{name}.png", args.seed, args.temperature)
        drawn = (
            {"seed": args.seed} if args.temperature is None else {"seed": args.seed, "temperature": args.temperature}
        )
        record[name] = {"run": Path(run).name, **drawn, **weights_identity(run)}
        print(f"wrote docs/images/{name}.png")
    record_path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()

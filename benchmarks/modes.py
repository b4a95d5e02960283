"""Mode coverage over seeds on toy2d:ring8 and toy2d:grid25 (the PacGAN protocol, Lin et al. 2018, Sec. 5).

python benchmarks/modes.py --seeds 10                       # every configuration below
python benchmarks/modes.py --seeds 3 --configs nonsaturating --data grid25
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time

import torch

from common import save
from genlab.evaluation import evaluate
from genlab.models.gan import GAN
from genlab.training import train

# Lin et al. (2018), PacGAN's toy experiments: G 4 x 400 ReLU + batch norm, D 3 maxout layers of 200 units x 5
# pieces, Adam 1e-4 with beta1 = 0.8, batch 100 (they train 400 epochs of 100,000 points)
PACGAN_NETS = [
    "model.g_width=400",
    "model.mlp_depth=4",
    "model.mlp_batch_norm=true",
    "model.d_width=200",
    "model.mlp_d_depth=3",
    "model.mlp_maxout=5",
]
PACGAN_OPTIMIZER = ["train.lr=1e-4", "train.betas=0.8,0.999", "train.batch_size=100"]
CONFIGS = {
    "minimax": ["model.objective=minimax"],
    "nonsaturating": ["model.objective=nonsaturating"],
    "wgan-gp": ["model.objective=wgan-gp", "model.n_critic=5", "train.lr=1e-4", "train.betas=0,0.9"],
    "pacgan4": ["model.objective=nonsaturating", "model.pack=4"],
    "pacgan-nets": ["model.objective=nonsaturating"] + PACGAN_NETS + PACGAN_OPTIMIZER,
    "pacgan-nets4": ["model.objective=nonsaturating", "model.pack=4"] + PACGAN_NETS + PACGAN_OPTIMIZER,
    # the best found on cpu-2, the gan preset toy-r1 (it sets every key of toy): Goodfellow's minimax objective
    # with an R1 penalty on real points (Mescheder et al. 2018, gamma 0.1), 3 x 256 units, batch 512, cosine
    # decay to 1e-5, 40 epochs (7,800 steps)
    "best": GAN.presets["toy-r1"],
    # the previous best (non-saturating, no penalty, 20 epochs), kept for comparison
    "wide-ns": [
        "model.objective=nonsaturating",
        "model.g_width=256",
        "model.d_width=256",
        "train.batch_size=512",
        "train.lr_schedule=cosine",
        "train.lr_min_ratio=0.01",
        "train.epochs=20",
    ],
}


def run_one(data: str, config: str, seed: int, extra: list[str]) -> dict:
    """Train one toy GAN and score 2,500 samples."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        overrides = CONFIGS[config] + [f"train.seed={seed}"] + extra
        train("gan", data=f"toy2d:{data}", preset="toy", overrides=overrides, out=out, force=True, echo=lambda s: None)
        result = evaluate(out, ["modes"], write=False)["modes"]
        result["seconds"] = time.perf_counter() - started
        print(
            f"  {data} {config} seed {seed}: {result['modes']} modes, HQ {100 * result['high_quality']:.1f}%, "
            f"rKL {result['reverse_kl']:.3f}, {result['seconds']:.0f} s",
            flush=True,
        )
        return result


def summarize(results: list[dict]) -> dict:
    """Mean and standard error over seeds of modes, % high quality, reverse KL."""
    out = {}
    for key in ("modes", "high_quality", "reverse_kl", "seconds"):
        values = torch.tensor([float(r[key]) for r in results], dtype=torch.float64)
        stderr = values.std().item() / math.sqrt(len(values)) if len(values) > 1 else float("nan")
        out[key] = {"mean": values.mean().item(), "stderr": stderr}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--configs", default="minimax,nonsaturating,wgan-gp,best")
    parser.add_argument("--data", default="ring8,grid25")
    parser.add_argument("--set", dest="extra", action="append", default=[])
    parser.add_argument("--name", default="modes", help="result file name under benchmarks/results/")
    args = parser.parse_args()
    table = {}
    for data in args.data.split(","):
        for config in args.configs.split(","):
            runs = [run_one(data, config, seed, args.extra) for seed in range(args.seeds)]
            table[f"{data}/{config}"] = {"summary": summarize(runs), "runs": runs}
            s = table[f"{data}/{config}"]["summary"]
            print(
                f"{data:7s} {config:14s} modes {s['modes']['mean']:.1f}±{s['modes']['stderr']:.1f} "
                f"HQ {100 * s['high_quality']['mean']:.1f}% rKL {s['reverse_kl']['mean']:.3f}",
                flush=True,
            )
    save(args.name, {"seeds": args.seeds, "extra": args.extra, "table": table})


if __name__ == "__main__":
    main()

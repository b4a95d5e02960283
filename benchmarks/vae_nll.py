"""Likelihood benchmark (Burda et al. 2016 protocol): train the `nll` preset of the VAE (or, with --model hvae, of
the hierarchical VAE) on dynamically binarized MNIST, then estimate the test NLL by importance sampling.

    python benchmarks/vae_nll.py                         # full protocol: k=5000, all 10,000 test images
    python benchmarks/vae_nll.py -k 1000 --images 1000   # a CPU-sized estimate
    python benchmarks/vae_nll.py --skip-train            # score an existing run again
    python benchmarks/vae_nll.py --skip-train --shard 1000   # resumable: per-image NLLs saved per shard
    python benchmarks/vae_nll.py --skip-train --iwae-finetune 5 -k 1000 --shard 1000   # the docs' best row
    python benchmarks/vae_nll.py --model hvae --out runs/hvae-nll --skip-train -k 1000 --shard 1000
    python benchmarks/vae_nll.py --model hvae --out runs/hvae-nll --skip-train --iwae-finetune 3 -k 1000 --shard 1000

With --iwae-finetune E the trained run is copied to OUT_iwae and trained E more epochs on the IWAE bound
(Burda et al. 2016, k=5 samples, no KL warm-up or free bits) by resuming it with its cosine schedule stretched to
1.15 EPOCHS (the VAE's 100 + 5: learning rate about 8.6e-5 falling to 6e-5); that run is scored. Run again, the
command continues an interrupted fine-tuning of the same weights.

With --shard N the test set is scored N images at a time; each shard's per-image NLLs are saved under
RUN/nll_shards/WEIGHTS/ and a restarted command skips finished shards (hours of CPU survive an interruption);
--part 0/2 and --part 1/2 in two processes share the shards, the last to finish writes the result.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

from common import RESULTS, save
from genlab.data import load_split
from genlab.devices import inference_layout, pick_device
from genlab.evaluation import evaluate
from genlab.metrics import elbo_terms, nll_summary, per_image_nll
from genlab.runs import checkpoint_dir, load_config, load_run, load_train_state, weights_identity
from genlab.training import train


def sharded(run: Path, k: int, shard: int, images: int | None, part: tuple[int, int] = (0, 1)) -> dict | None:
    """ELBO and NLL with the NLL computed shard by shard, resuming from saved shards (kept per weights, so a run
    trained further is scored afresh). ``part`` (i, n) scores only every n-th shard from the i-th, so n processes
    share the work; the one that finds every shard done returns the results, the others None."""
    model, config = load_run(run, pick_device("auto"))
    inference_layout(model)
    data = load_split(config, "test", for_eval=True).head(images).to(model.device)
    folder = run / "nll_shards" / weights_identity(run)["weights_sha256"][:12]
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"k{k}_{start}_{start + shard}.pt" for start in range(0, len(data), shard)]
    for index, path in enumerate(paths):
        if index % part[1] == part[0] and not path.exists():
            score_shard(model, data.take(slice(index * shard, (index + 1) * shard)), k, index, path)
    if not all(path.exists() for path in paths):
        print(f"part {part[0]}/{part[1]} done; the other parts' shards are still missing", flush=True)
        return None
    nlls = torch.cat([torch.load(path) for path in paths])
    return {"elbo": elbo_terms(model, data), "nll": {**nll_summary(nlls, k, model.dims), "shard": shard}}


def score_shard(model, data, k: int, index: int, path: Path) -> None:
    """Per-image NLLs of one shard (seeded by its index), written atomically."""
    began = time.perf_counter()
    values = per_image_nll(model, data, k, seed=index)
    tmp = path.with_suffix(".tmp")
    torch.save(values, tmp)
    tmp.replace(path)
    print(f"shard {path.stem} mean {values.mean():.3f} in {time.perf_counter() - began:.0f} s", flush=True)


def finetune_iwae(run: Path, epochs: int, k: int = 5) -> Path:
    """Copy a trained VAE or hierarchical VAE run to RUN_iwae and continue it for ``epochs`` epochs on the k-sample
    IWAE bound (no KL warm-up, no free bits), its cosine schedule stretched by 15% (at least ``epochs``). Resumable:
    a copy made from the same weights is continued, not made again."""
    target = run.with_name(run.name + "_iwae")
    source = weights_identity(run)["weights_sha256"]
    marker = target / "finetuned_from.txt"
    if not (marker.is_file() and marker.read_text() == source):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(checkpoint_dir(run), target / "checkpoint")
        marker.write_text(source)
    config = load_config(run)
    trained = config.train.epochs
    loop = load_train_state(run)["loop"]
    steps_per_epoch = loop["step"] // max(loop["epoch"], 1)
    train(
        out=target,
        resume=True,
        overrides=[
            f"model.iw_samples={k}",
            "model.kl_warmup_steps=0",
            *(["model.free_bits=0"] if hasattr(config.model, "free_bits") else []),
            f"train.epochs={max(round(1.15 * trained), trained + epochs)}",
            f"train.max_steps={loop['step'] + epochs * steps_per_epoch}",
        ],
    )
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vae", choices=("vae", "hvae"), help="whose nll preset (default vae)")
    parser.add_argument("--out", help="the run folder (default benchmarks/results/MODEL_nll)")
    parser.add_argument("-k", type=int, default=5000)
    parser.add_argument("--images", type=int, default=None)
    parser.add_argument("--shard", type=int, default=None, help="score this many test images at a time, resumably")
    parser.add_argument(
        "--part", default="0/1", help="with --shard, I/N: score every N-th shard from the I-th (N processes at once)"
    )
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument(
        "--iwae-finetune",
        type=int,
        default=0,
        metavar="EPOCHS",
        help="then continue a copy of the run on the IWAE bound (k=5) and score that copy",
    )
    parser.add_argument("--name", help="result file name under benchmarks/results/ (default MODEL_nll)")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    args.out = args.out or str(RESULTS / f"{args.model}_nll")
    args.name = args.name or f"{args.model}_nll"
    train_seconds = None
    if not args.skip_train:
        started = time.perf_counter()
        train(args.model, preset="nll", overrides=args.overrides, out=args.out, force=True)
        train_seconds = round(time.perf_counter() - started, 1)
    run = Path(args.out)
    if args.iwae_finetune:
        started = time.perf_counter()
        run = finetune_iwae(run, args.iwae_finetune)
        train_seconds = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    if args.shard:
        index, count = (int(v) for v in args.part.split("/"))
        results = sharded(run, args.k, args.shard, args.images, (index, count))
        if results is None:
            return
    else:
        results = evaluate(run, ["elbo", "nll"], k=args.k, images=args.images)
    config = json.loads((checkpoint_dir(run) / "config.json").read_text())
    save(
        args.name,
        {
            "train_seconds": train_seconds,
            "eval_seconds": round(time.perf_counter() - started, 1),
            "elbo": results["elbo"],
            "nll": results["nll"],
            "config": config,
        },
    )


if __name__ == "__main__":
    main()

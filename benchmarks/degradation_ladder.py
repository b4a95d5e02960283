"""The degradation ladder (issue 29): real MNIST test digits under noise, blur, lost contrast and shuffled pixels
(genlab.testing.ladder), scored against the 60,000 training digits by every default metric: FID and KID under
each shipped digit network (digits-v2, the default; digits, v1; digits-check; digits-plain), precision/recall under
digits-v2 (against 10,000 of the training digits, as `genlab eval` compares 10,000 with 10,000) and the pyramid SWD.

    OMP_NUM_THREADS=1 python benchmarks/degradation_ladder.py              # all 10,000 test digits per row
    python benchmarks/degradation_ladder.py --images 2000 --runs RUN ...   # fewer; + as many samples of each run
    OMP_NUM_THREADS=1 python benchmarks/degradation_ladder.py --floor      # the SWD's floor and time only

Writes benchmarks/results/degradation_ladder.json and prints the markdown table of docs/metrics.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from common import save
from genlab.data import load_dataset, to_float
from genlab.evaluation import draw_samples
from genlab.metrics import fid, kid, precision_recall
from genlab.metrics.extractors import load_extractor
from genlab.metrics.features import extract
from genlab.metrics.swd import patches_per_image, swd
from genlab.testing.ladder import ladder_sets
from genlab.training import load_run

NETWORKS = ("digits-v2", "digits", "digits-check", "digits-plain")  # the default first
PR_REFERENCE = 10_000  # training digits the precision/recall radii are drawn from


def network_scores(name: str, reference: torch.Tensor, rows: dict[str, torch.Tensor]) -> dict[str, dict]:
    """FID and KID of every row under one network (precision/recall too under the default one)."""
    extractor = load_extractor(name)
    real = extract(extractor, reference)["features"]
    scores = {}
    for row, images in rows.items():
        fake = extract(extractor, images)["features"]
        k = kid(real, fake)
        scores[row] = {"fid": fid(real, fake)["fid"], "kid": k["kid"], "kid_std": k["kid_std"]}
        if name == NETWORKS[0]:
            scores[row].update(precision_recall(real[:PR_REFERENCE], fake))
        print(f"  {name:12s} {row:14s} FID {scores[row]['fid']:8.2f}", flush=True)
    return scores


def swd_scores(reference: torch.Tensor, rows: dict[str, torch.Tensor]) -> dict[str, dict]:
    """The pyramid SWD of every row, as `genlab eval` computes it (seed 0)."""
    scores = {}
    for row, images in rows.items():
        per_image = (patches_per_image(len(reference)), patches_per_image(len(images)))
        result = swd(reference, images, per_image=per_image)
        scores[row] = {"swd": result["swd"], "swd_levels": result["swd_levels"]}
        print(f"  swd          {row:14s} {1000 * result['swd']:8.2f}", flush=True)
    return scores


def swd_floor(train: torch.Tensor, test: torch.Tensor) -> dict[str, dict]:
    """SWD and seconds of 10,000 training digits against 10,000 others (its floor from sampling noise) and against
    the 10,000 test digits, with `genlab eval`'s patch counts."""
    half, other = train[:10_000], train[10_000:20_000]
    rows = {}
    for name, images in (("train vs train", other), ("train vs test", test)):
        started = time.perf_counter()
        result = swd(half, images, per_image=(patches_per_image(len(half)), patches_per_image(len(images))))
        rows[name] = {"swd": result["swd"], "swd_levels": result["swd_levels"], "s": time.perf_counter() - started}
        print(f"  {name}: SWD x 1000 {1000 * result['swd']:.2f} in {rows[name]['s']:.1f} s", flush=True)
    return rows


def model_rows(runs: list[str], n: int) -> dict[str, torch.Tensor]:
    """``n`` samples (seed 0) of each trained MNIST model."""
    return {f"model {Path(run).name}": draw_samples(load_run(run)[0], n, seed=0) for run in runs}


def table(scores: dict[str, dict]) -> str:
    """The markdown table: one row per set, FID / KID x 1000 per network, precision / recall, SWD x 1000."""
    head = [f"FID {n}" for n in NETWORKS] + [f"KID×1000 {n}" for n in NETWORKS] + ["precision / recall", "SWD×1000"]
    lines = ["| set | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
    for row, s in scores.items():
        cells = [f"{s[n]['fid']:.2f}" for n in NETWORKS] + [f"{1000 * s[n]['kid']:.1f}" for n in NETWORKS]
        default = s[NETWORKS[0]]
        cells += [f"{default['precision']:.3f} / {default['recall']:.3f}", f"{1000 * s['swd']['swd']:.1f}"]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=10_000, help="test digits per row (default all 10,000)")
    parser.add_argument("--runs", nargs="*", default=[], help="trained MNIST runs: a row of samples each")
    parser.add_argument("--floor", action="store_true", help="only the SWD of training digits against others")
    args = parser.parse_args()
    started = time.perf_counter()
    train = load_dataset("mnist", "train")
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))
    reference = to_float(train.images[order])  # shuffled once: the first PR_REFERENCE are a random subset
    test = to_float(load_dataset("mnist", "test").images[: args.images])
    if args.floor:
        save("swd_floor", swd_floor(reference, test))
        return
    rows = ladder_sets(test, seed=1)
    rows.update(model_rows(args.runs, args.images))
    by_metric = {name: network_scores(name, reference, rows) for name in NETWORKS}
    by_metric["swd"] = swd_scores(reference, rows)
    scores = {row: {metric: by_metric[metric][row] for metric in by_metric} for row in rows}
    seconds = time.perf_counter() - started
    print(table(scores))
    save("degradation_ladder", {"images": args.images, "runs": args.runs, "seconds": seconds, "scores": scores})


if __name__ == "__main__":
    main()

"""Issue 5's benchmarks: MNIST -> mnistm domain adaptation and synthdigits -> MNIST training-data refinement.

Each pair trains its translators (CycleGAN and UNIT, and for synthdigits also the SimGAN refiner) with their
`digits` presets (on MNIST -> mnistm 4x longer, see LONG), then runs `genlab adapt` over the seeds: source only, one
translated row per translator, train on target, all tested on the target's test split. Results go to
benchmarks/results/adapt/scores_PAIR[_ROWS]/ (adapt.json, one run folder per row and seed; the translators' run
folders sit beside it) and benchmarks/results/adaptation_PAIR[_ROWS].json.

    python benchmarks/adaptation.py --pairs m2mm                 # MNIST -> mnistm, 3 seeds
    python benchmarks/adaptation.py --pairs s2m --limit 20000    # synthdigits -> MNIST, classifiers on 20k
    python benchmarks/adaptation.py --pairs m2mm --train none    # translators already trained: adapt only
    python benchmarks/adaptation.py --pairs s2m --train refiner  # retrain the refiner, reuse the CycleGAN
    python benchmarks/adaptation.py --pairs m2mm --translators unit   # UNIT's row only (and the two bounds)
    python benchmarks/adaptation.py --pairs m2mm --translators cyclegan-cycada --translator-seeds 0,1,2 --seeds 2
                                      # issue 18: three CyCADA translators, each scored by two classifier seeds
    python benchmarks/adaptation.py --pairs m2mm --translators unit-style   # UNIT with style codes (MUNIT)
    python benchmarks/adaptation.py --pairs s2m --translators cyclegan-cycada --translator-seeds 0,1,2 --seeds 2 \
        --limit 20000                 # issue 18's synthdigits -> MNIST target: three CyCADA CycleGANs

A translator's run folder is adapt/PAIR_NAME (train.seed 0) or adapt/PAIR_NAME_seedS; one that holds a checkpoint
is resumed (a finished one is reused), so a long translator trains in pieces across sessions.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from common import RESULTS, save
from genlab import train  # the app layer's: a translator's auto classifier first
from genlab.apps.adapt import adapt
from genlab.apps.report.adaptation import format_table
from genlab.runs import has_checkpoint

LONG = ["data.limit=24000", "train.epochs=8"]  # 6,000 steps: the 1,500 of the preset stop at 0.76 on mnistm
PAIRS = {  # name: (source, target, {translator: (model, preset, overrides)})
    "m2mm": (
        "mnist",
        "mnistm",
        {
            "cyclegan": ("cyclegan", "digits", LONG),
            "unit": ("unit", "digits", []),
            "unit-long": ("unit", "digits", LONG),
            "cyclegan-cycada": ("cyclegan", "digits-cycada", LONG),
            "unit-style": ("unit", "digits-style", LONG),
            "cyclegan-style": ("cyclegan", "digits-style", LONG),
            "cyclegan-cycada-1500": ("cyclegan", "digits-cycada", []),
            "cyclegan-cycada-w0.1-1500": ("cyclegan", "digits-cycada", ["model.semantic_weight=0.1"]),
        },
    ),
    "s2m": (
        "synthdigits",
        "mnist",
        {
            "refiner": ("refiner", "digits", []),
            "cyclegan": ("cyclegan", "digits", []),
            "unit": ("unit", "digits", []),
            "refiner-cycada": ("refiner", "digits-cycada", []),
            "cyclegan-cycada": ("cyclegan", "digits-cycada", []),
            "unit-style": ("unit", "digits-style", []),
            "cyclegan-style": ("cyclegan", "digits-style", []),
        },
    ),
}


def epoch_seconds(run: Path) -> list[float]:
    """The loop's time per epoch, read from a run's metrics.jsonl."""
    records = (json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines())
    return [r["seconds"] for r in records if r.get("kind") == "epoch"]


def translator_run(pair: str, name: str, seed: int) -> Path:
    """adapt/PAIR_NAME for train.seed 0 (the folders of the single-translator tables), else adapt/PAIR_NAME_seedS."""
    return RESULTS / "adapt" / (f"{pair}_{name}" + (f"_seed{seed}" if seed else ""))


def train_translators(pair: str, extra: list[str], which: str, rows: str, seeds: list[int]) -> dict[str, dict]:
    """Train (or resume) the translators named in ``which`` (all, none or NAME,NAME), once per translator seed,
    and reuse the others' run folders, of those named in ``rows`` (all or NAME,NAME); run folder and time per
    epoch of each."""
    source, target, translators = PAIRS[pair]
    made = {}
    for name, (model, preset, overrides) in translators.items():
        if rows != "all" and name not in rows.split(","):
            continue
        for seed in seeds:
            run, settings = translator_run(pair, name, seed), overrides + extra + [f"train.seed={seed}"]
            if which == "all" or name in which.split(","):
                if has_checkpoint(run):
                    train(out=run, resume=True)  # a finished run says so and is reused
                else:
                    train(
                        model,
                        data=f"unpaired:{source},{target}",
                        preset=preset,
                        overrides=settings,
                        out=run,
                        force=True,
                    )
            elif not has_checkpoint(run):
                raise SystemExit(f"{run} holds no trained translator; train it (--train {name}) or drop seed {seed}")
            made[run.name] = {
                "run": str(run),
                "model": model,
                "preset": preset,
                "overrides": settings,
                "epoch_seconds": epoch_seconds(run),
            }
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", default=",".join(PAIRS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--limit", type=int, help="classifiers train on the first N (translated) training images")
    parser.add_argument(
        "--train", default="all", help="translators to train: all, none (reuse the trained runs) or names, e.g. refiner"
    )
    parser.add_argument("--translators", default="all", help="translated rows: all or names, e.g. unit,cyclegan")
    parser.add_argument(
        "--translator-seeds",
        default="0",
        help="train.seed of each translator, e.g. 0,1,2 (several: adapt reports the spread over translators)",
    )
    parser.add_argument(
        "--translator-set",
        dest="extra",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override for every translator's config (repeatable)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override for every classifier's config (repeatable)",
    )
    args = parser.parse_args()
    suffix = ("" if args.translators == "all" else "_" + args.translators.replace(",", "_")) + (
        "" if args.translator_seeds == "0" else "_seeds" + args.translator_seeds.replace(",", "_")
    )
    for pair in args.pairs.split(","):
        source, target, _ = PAIRS[pair]
        seeds = [int(s) for s in args.translator_seeds.split(",")]
        translators = train_translators(pair, args.extra, args.train, args.translators, seeds)
        started = time.perf_counter()
        report = adapt(
            source,
            target,
            translators=[t["run"] for t in translators.values()],
            seeds=args.seeds,
            overrides=args.overrides,
            out=RESULTS / "adapt" / f"scores_{pair}{suffix}",
            limit=args.limit,
            force=True,
        )
        print(format_table(report), flush=True)
        report["adapt_seconds"] = round(time.perf_counter() - started, 1)
        save(f"adaptation_{pair}{suffix}", {"translators": translators, "report": report})


if __name__ == "__main__":
    main()

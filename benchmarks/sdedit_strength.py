"""SDEdit's strength against faithfulness: source digits edited by a diffusion model of the target domain at each
strength, read by a classifier trained on real target images (Meng et al. 2022 trade realism against faithfulness
the same way). A strength starts the sampler at one of its noise levels, so a few steps give few distinct edits;
each row names the noise level it started from.

    OMP_NUM_THREADS=1 python benchmarks/sdedit_strength.py --run runs/dm-mnistm-s0 \
        --reader runs/adapt-sdedit/target_seed0 --strengths 0.5,0.58,0.64 --n 2000

The reader is any classifier run of the target (`genlab adapt` leaves one per seed as OUT/target_seedN).
Writes benchmarks/results/sdedit_strength.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from common import save
from genlab.apps.adapt import accuracy
from genlab.data import load_dataset
from genlab.runs import load_run
from genlab.samplers import SDEditTranslator
from genlab.samplers.translation import translate_images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a diffusion run of the target domain")
    parser.add_argument("--reader", required=True, help="a classifier run trained on the target domain")
    parser.add_argument("--source", default="mnist", help="the labelled source domain (default mnist)")
    parser.add_argument("--strengths", default="0.3,0.5,0.58,0.64,0.75")
    parser.add_argument("--n", type=int, default=2000, help="first N source training images (default 2000)")
    args = parser.parse_args()
    model, reader = load_run(args.run)[0], load_run(args.reader)[0]
    c = model.config
    source = load_dataset(args.source, "train", image_size=c.image_size, channels=c.channels).head(args.n)
    rows = []
    for strength in (float(s) for s in args.strengths.split(",")):
        started = time.perf_counter()
        edited = translate_images(SDEditTranslator(model, strength), source.images)
        read = accuracy(reader, replace(source, images=edited))
        rows.append({"strength": strength, "sigma": round(float(model.edit_levels(strength)[0]), 3), "read": read})
        rows[-1]["seconds"] = round(time.perf_counter() - started, 1)
        print(f"strength {strength} (sigma {rows[-1]['sigma']}): the reader gets {read:.4f}", flush=True)
    save("sdedit_strength", {"run": args.run, "reader": args.reader, "n": args.n, "rows": rows})
    print("| strength | starts at σ | read as the source label |\n|---|---|---|")
    print("\n".join(f"| {r['strength']} | {r['sigma']} | {r['read']:.4f} |" for r in rows))


if __name__ == "__main__":
    main()

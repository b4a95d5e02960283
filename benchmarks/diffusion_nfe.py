"""FID against network evaluations for every diffusion sampler of a run: the speed/quality curve.

For each sampler and budget of network evaluations (NFE) the run's EMA denoiser draws ``--samples`` images
(seed 0) and they are scored by FID under the data's feature network (digits-v2 on MNIST) against the reference
split. Heun spends 2N - 1 evaluations on N steps, the others N; ancestral DDPM also runs at 1,000.

    OMP_NUM_THREADS=1 python benchmarks/diffusion_nfe.py --run runs/diffusion-quick --samples 1000
    python benchmarks/diffusion_nfe.py --run R --budgets 5,10,18,35 --samplers heun,dpmpp-2m

Writes benchmarks/results/diffusion_nfe.json and prints a markdown table (rows: samplers; columns: NFE).
"""

from __future__ import annotations

import argparse
import time

from common import machine, save
from genlab.evaluation import score
from genlab.runs import load_run

BUDGETS = (5, 10, 18, 35, 100)
SAMPLERS = ("euler", "heun", "dpmpp-2m", "ddim", "ddpm")
LONG = {"ddpm": 1000}  # ancestral sampling is also run at the training schedule's length


def steps_for(sampler: str, evaluations: int) -> int:
    """The step count that spends about ``evaluations`` network evaluations (Heun: 2N - 1)."""
    return max(1, (evaluations + 1) // 2) if sampler == "heun" else evaluations


def curve(run: str, samplers: list[str], budgets: list[int], samples: int) -> dict:
    """{sampler: {nfe: {fid, steps, seconds}}} for the run's model."""
    model, config = load_run(run)
    rows: dict = {}
    for sampler in samplers:
        for budget in sorted({*budgets, *([LONG[sampler]] if sampler in LONG else [])}):
            steps = steps_for(sampler, budget)
            model.use_sampling(sampler=sampler, steps=steps)
            started = time.perf_counter()
            fid = score(model, config, ["fid"], samples=samples)["fid"]
            nfe = model.last_evaluations
            rows.setdefault(sampler, {})[nfe] = {
                "fid": round(fid["fid"], 3),
                "steps": steps,
                "seconds": round(time.perf_counter() - started, 1),
                "extractor": fid["provenance"]["extractor"],
            }
            print(f"{sampler} {steps} steps ({nfe} NFE): FID {fid['fid']:.3f}", flush=True)
    return rows


def table(rows: dict) -> str:
    """Markdown: a row per sampler, a column per NFE budget."""
    budgets = sorted({nfe for r in rows.values() for nfe in r})
    lines = ["| sampler | " + " | ".join(f"{b} NFE" for b in budgets) + " |", "|---" * (len(budgets) + 1) + "|"]
    for sampler, r in rows.items():
        cells = [f"{r[b]['fid']:.2f}" if b in r else "" for b in budgets]
        lines.append(f"| `{sampler}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a diffusion run folder")
    parser.add_argument("--samples", type=int, default=1000, help="samples per point (default 1000)")
    parser.add_argument("--samplers", default=",".join(SAMPLERS))
    parser.add_argument("--budgets", default=",".join(map(str, BUDGETS)), help="network evaluations per sample")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = curve(args.run, args.samplers.split(","), [int(b) for b in args.budgets.split(",")], args.samples)
    save(
        "diffusion_nfe",
        {
            "run": args.run,
            "samples": args.samples,
            "machine": machine(),
            "rows": rows,
            "seconds": round(time.perf_counter() - started, 1),
        },
    )
    print(table(rows))


if __name__ == "__main__":
    main()

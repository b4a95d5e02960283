"""FID against network evaluations for every diffusion sampler of a run: the speed/quality curve.

For each sampler and budget of network evaluations (NFE) the run's EMA denoiser draws ``--samples`` images
(seed 0) and they are scored by FID under the data's feature network (digits-v2 on MNIST) against the reference
split. Heun spends 2N - 1 evaluations on N steps, the others N; ancestral DDPM also runs at 1,000. Each point is
written as it is measured, and a rerun with the same run, sample count and guidance keeps the points already there.

    OMP_NUM_THREADS=1 python benchmarks/diffusion_nfe.py --run runs/diffusion-quick --samples 1000
    python benchmarks/diffusion_nfe.py --run R --budgets 5,10,18,35 --samplers heun,dpmpp-2m
    python benchmarks/diffusion_nfe.py --run runs/cdiffusion --guidance 1   # class-conditional, labels 0-9 in turn

Writes benchmarks/results/diffusion_nfe.json and prints a markdown table (rows: samplers; columns: NFE).
"""

from __future__ import annotations

import argparse
import json
import time

from common import RESULTS, save
from genlab.evaluation import score
from genlab.runs import load_run

BUDGETS = (5, 10, 18, 35, 100)
SAMPLERS = ("euler", "heun", "dpmpp-2m", "ddim", "ddpm")
LONG = {"ddpm": 1000}  # ancestral sampling is also run at the training schedule's length


def steps_for(sampler: str, evaluations: int) -> int:
    """The step count that spends about ``evaluations`` network evaluations (Heun: 2N - 1)."""
    return max(1, (evaluations + 1) // 2) if sampler == "heun" else evaluations


def earlier_points(setting: dict) -> dict:
    """The rows of a previous benchmarks/results/diffusion_nfe.json measured with the same setting, else none."""
    path = RESULTS / "diffusion_nfe.json"
    previous = json.loads(path.read_text()) if path.is_file() else {}
    return previous.get("rows", {}) if all(previous.get(k) == v for k, v in setting.items()) else {}


def point(model, config, sampler: str, steps: int, samples: int) -> tuple[int, dict]:
    """(network evaluations, {fid, steps, seconds, extractor}) of one sampler at one step count."""
    model.use_sampling(sampler=sampler, steps=steps)
    started = time.perf_counter()
    fid = score(model, config, ["fid"], samples=samples)["fid"]
    seconds = round(time.perf_counter() - started, 1)
    print(f"{sampler} {steps} steps ({model.last_evaluations} NFE): FID {fid['fid']:.3f} in {seconds} s", flush=True)
    return model.last_evaluations, {
        "fid": round(fid["fid"], 3),
        "steps": steps,
        "seconds": seconds,
        "extractor": fid["provenance"]["extractor"],
    }


def curve(setting: dict, samplers: list[str], budgets: list[int]) -> dict:
    """{sampler: {nfe: {fid, steps, seconds}}} for the run's model, saved after every point."""
    model, config = load_run(setting["run"])
    model.use_sampling(guidance=setting["guidance"])
    rows: dict = earlier_points(setting)
    for sampler in samplers:
        for budget in sorted({*budgets, *([LONG[sampler]] if sampler in LONG else [])}):
            steps = steps_for(sampler, budget)
            if any(row["steps"] == steps for row in rows.get(sampler, {}).values()):
                continue
            nfe, row = point(model, config, sampler, steps, setting["samples"])
            rows.setdefault(sampler, {})[str(nfe)] = row
            save("diffusion_nfe", {**setting, "rows": rows}, quiet=True)
    return rows


def table(rows: dict) -> str:
    """Markdown: a row per sampler, a column per NFE budget."""
    budgets = sorted({nfe for r in rows.values() for nfe in r}, key=int)
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
    parser.add_argument("--guidance", type=float, default=0.0, help="classifier-free guidance w (conditional runs)")
    args = parser.parse_args()
    setting = {"run": args.run, "samples": args.samples, "guidance": args.guidance}
    rows = curve(setting, args.samplers.split(","), [int(b) for b in args.budgets.split(",")])
    save("diffusion_nfe", {**setting, "rows": rows})
    print(table(rows))


if __name__ == "__main__":
    main()

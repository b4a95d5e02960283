"""Wall time of `make demo` after installation (python -m genlab.apps.demo) and the demo model's numbers.

python benchmarks/demo_time.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import save


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "genlab.apps.demo", "--out", str(out)], check=True)
        seconds = time.perf_counter() - started
        results = json.loads((out / "eval.json").read_text())
        epochs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    save(
        "demo",
        {
            "wall_seconds": round(seconds, 1),
            "neg_elbo_test_10k": results["elbo"]["neg_elbo"],
            "nll": {k: results["nll"][k] for k in ("nll", "nll_stderr", "k", "images")},
            "train_images_per_s": [r["images_per_s"] for r in epochs if r["kind"] == "epoch"],
        },
    )


if __name__ == "__main__":
    main()

"""Sanity evidence for the offline sample-quality metrics (docs/metrics.md), with a shipped digit extractor.

    python benchmarks/metric_sanity.py                     # real-vs-real, noise and blur sweeps, speed
    python benchmarks/metric_sanity.py --extractor digits  # the same under another extractor (v1 here)
    python benchmarks/metric_sanity.py --run benchmarks/results/zoo/nonsaturating   # + FID bias vs N

1. MNIST test (10k) against 10k training images: FID and KID should be near zero.
2. The same with the test images corrupted by Gaussian noise or Gaussian blur of growing strength:
   every score should grow monotonically.
3. For a trained model: FID of 1k, 2k, 5k and 10k samples against the 10k test images (FID is biased
   upwards at small N).
4. Seconds to score 10k images (features + FID, KID, precision/recall, density/coverage, IS) on this machine.
"""

from __future__ import annotations

import argparse
import time

import torch

from common import save
from genlab.data import load_dataset, to_float
from genlab.evaluation import draw_samples
from genlab.metrics import classifier_score, density_coverage, fid, kid, precision_recall
from genlab.metrics.extractors import DEFAULT_DIGIT_EXTRACTOR, load_extractor
from genlab.metrics.features import extract
from genlab.ops.augment import gaussian_blur
from genlab.training import load_run

NOISE = (0.05, 0.1, 0.2, 0.4)
BLUR = (0.5, 1.0, 1.5, 2.0)


def scores(real: torch.Tensor, fake: torch.Tensor) -> dict:
    """FID and KID of two feature sets."""
    k = kid(real, fake)
    return {"fid": fid(real, fake)["fid"], "kid": k["kid"], "kid_std": k["kid_std"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="a trained image model for the FID-bias rows")
    parser.add_argument("--extractor", default=DEFAULT_DIGIT_EXTRACTOR, help="digits, digits-v2, a run or a file")
    args = parser.parse_args()
    extractor = load_extractor(args.extractor)
    test = to_float(load_dataset("mnist", "test").images)
    train = load_dataset("mnist", "train")
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:10_000]
    real = extract(extractor, test)["features"]
    rows = {"train 10k vs test": scores(real, extract(extractor, to_float(train.images[pick]))["features"])}
    gen = torch.Generator().manual_seed(1)
    for s in NOISE:
        noisy = (test + s * torch.randn(test.shape, generator=gen)).clamp(0, 1)
        rows[f"noise sigma={s}"] = scores(real, extract(extractor, noisy)["features"])
    for s in BLUR:
        rows[f"blur sigma={s}"] = scores(real, extract(extractor, gaussian_blur(test, s))["features"])
    result = {"extractor": extractor.name, "extractor_sha256": extractor.weights_sha256, "rows": rows}

    started = time.perf_counter()
    out = extract(extractor, test, logits=True)
    features_s = time.perf_counter() - started
    timings = {"features_10k": features_s}
    for name, call in [
        ("fid", lambda: fid(real, out["features"])),
        ("kid", lambda: kid(real, out["features"])),
        ("pr", lambda: precision_recall(real, out["features"])),
        ("dc", lambda: density_coverage(real, out["features"])),
        ("is", lambda: classifier_score(out["logits"])),
    ]:
        started = time.perf_counter()
        call()
        timings[name] = time.perf_counter() - started
    timings["total"] = sum(timings.values())
    result["seconds_to_score_10k"] = timings

    if args.run:
        model, _ = load_run(args.run)
        samples = draw_samples(model, 10_000, seed=0)
        fake = extract(extractor, samples)["features"]
        result["fid_vs_samples"] = {
            "run": args.run,
            **{str(n): fid(real, fake[:n])["fid"] for n in (1000, 2000, 5000, 10_000)},
        }
    save("metric_sanity" if args.extractor == DEFAULT_DIGIT_EXTRACTOR else f"metric_sanity_{extractor.name}", result)


if __name__ == "__main__":
    main()

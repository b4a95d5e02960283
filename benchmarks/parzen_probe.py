"""What Goodfellow's Parzen-window score rewards: 10,000 real MNIST training images as "samples", as they
are and transformed (blurred, lower contrast, noisy, binarized, sharpened), scored on the test set with the
same protocol as `genlab eval --metrics parzen` (sigma from logspace(-1, 0, 10) on 1,000 validation images),
and beside it their FID against the test set under genlab's digit features (`genlab eval --metrics fid`).

    python benchmarks/parzen_probe.py        # about a minute on two CPU cores

Theis et al. (2016) made the point with k-means centroids; this shows it for simple image transforms.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from common import save
from genlab.data import to_float
from genlab.data.mnist import load_mnist
from genlab.metrics.extractors import load_extractor
from genlab.metrics.features import extract
from genlab.metrics.parzen import parzen_evaluate
from genlab.metrics.quality import fid


def blurred(x: torch.Tensor, pixels: float) -> torch.Tensor:
    """Gaussian blur of each image (std in pixels) with SciPy."""
    return torch.from_numpy(gaussian_filter(x.numpy(), sigma=(0, 0, pixels, pixels))).float()


def transforms(real: torch.Tensor) -> dict[str, torch.Tensor]:
    noise = torch.randn(real.shape, generator=torch.Generator().manual_seed(0))
    return {
        "real training images": real,
        "blurred, 0.5 px": blurred(real, 0.5),
        "blurred, 0.7 px": blurred(real, 0.7),
        "blurred, 1.0 px": blurred(real, 1.0),
        "contrast x 0.9": real * 0.9,
        "gray haze + 0.02": real * 0.98 + 0.02,
        "noise, std 0.05": (real + 0.05 * noise).clamp(0, 1),
        "sharpened (x^2)": real**2,
        "binarized at 0.5": (real > 0.5).float(),
    }


def main() -> None:
    real = to_float(load_mnist("train50k").images[:10_000])
    valid = to_float(load_mnist("valid").images[:1000])
    test = to_float(load_mnist("test").images)
    extractor = load_extractor("digits")
    test_features = extract(extractor, test)["features"]
    rows = {}
    for name, samples in transforms(real).items():
        r = parzen_evaluate(samples, valid, test)
        score = fid(test_features, extract(extractor, samples)["features"])["fid"]
        rows[name] = {"fid": score, **{k: r[k] for k in ("log_likelihood", "stderr", "sigma")}}
        print(
            f"| {name} | {r['log_likelihood']:.1f} ± {r['stderr']:.1f} | {r['sigma']:.3f} | {score:.2f} |", flush=True
        )
    save("parzen_probe", {"rows": rows, "numpy": np.__version__})


if __name__ == "__main__":
    main()

"""How often a MNIST -> mnistm translator draws a digit dark on a light background, against real mnistm.

mnistm image i is MNIST image i blended with a photo patch (|patch - digit|), so MNIST's own strokes (pixels
> 0.5) mark the digit in both the real and the translated image: a digit is "dark" when its stroke's mean
luminance is below the rest of the image's. A translator that never draws dark digits trains a classifier
that has never seen the about one third of mnistm that has them.

    python benchmarks/polarity.py benchmarks/results/adapt/m2mm_unit-long benchmarks/results/adapt/m2mm_cyclegan
    python benchmarks/polarity.py RUN --sampled      # UNIT: also decode a code drawn from q(z|x), not its mean
    python benchmarks/polarity.py RUN --cycle        # also mnistm -> A -> mnistm: where the polarity travels

--cycle translates the real mnistm images into domain A and back, in the style the B encoder reads in the original
(a translator with style codes) and in a style drawn from N(0, I): when the drawn style brings the polarity back
as well as the read one, it travelled through the domain-A image (a hidden signal, as CycleGAN's steganography),
not through the style, and a MNIST digit (which carries no such signal) gets no dark translations from a style.
"""

from __future__ import annotations

import argparse

import torch
from torch import Tensor

from common import save
from genlab.data.mnist import load_mnist
from genlab.data.mnistm import load_mnistm
from genlab.runs import load_run
from genlab.samplers import seeded, translate_images


def dark_share(images: Tensor, strokes: Tensor) -> float:
    """Share of images [N, C, H, W] (any one scale) whose stroke pixels (bool [N, H, W]) are darker than the rest."""
    luminance = images.float().mean(1)
    stroke = (luminance * strokes).sum((1, 2)) / strokes.sum((1, 2)).clamp(min=1)
    rest = (luminance * ~strokes).sum((1, 2)) / (~strokes).sum((1, 2)).clamp(min=1)
    return round((stroke < rest).float().mean().item(), 4)


def sampled_translation(model, digits: Tensor) -> Tensor:
    """UNIT's G_b(z) with z ~ q(z | x) (seed 0) instead of the posterior mean, in [0, 1]."""
    with torch.no_grad():
        code = model.posterior(model.prepare(digits), 0).sample(seeded(0))
    return model.decode(code.flatten(1), domain="b")


def cycled_shares(model, real: Tensor, strokes: Tensor) -> dict[str, float]:
    """Dark share of mnistm -> A -> mnistm, in the style read from each original and in drawn styles (seed 0)."""
    back = translate_images(model, real, "b2a").float() / 255
    back = back.expand(-1, model.config.channels, -1, -1)
    out = {"cycled, drawn style": dark_share(translate_images(model, back, "a2b"), strokes)}
    if getattr(model, "styles", None) is not None:
        with torch.no_grad():
            read = model.styles.encode(model.prepare(real), 1)
        out["cycled, style read from the original"] = dark_share(model.translate(back, "a2b", read), strokes)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="translator runs trained on unpaired:mnist,mnistm")
    parser.add_argument("--n", type=int, default=2000, help="first N MNIST training digits (default 2000)")
    parser.add_argument("--sampled", action="store_true", help="UNIT runs: also a sampled code's translation")
    parser.add_argument("--cycle", action="store_true", help="also real mnistm translated to A and back")
    args = parser.parse_args()
    digits = load_mnist("train").images[: args.n].float() / 255
    strokes = digits[:, 0] > 0.5
    real = load_mnistm("train").images[: args.n].float() / 255
    result = {"n": args.n, "real mnistm": dark_share(real, strokes)}
    for run in args.runs:
        model, _ = load_run(run)
        model.eval()
        inputs = digits.expand(-1, model.config.channels, -1, -1)
        result[run] = {"translated": dark_share(translate_images(model, inputs, "a2b"), strokes)}
        if args.sampled and hasattr(model, "posterior"):
            result[run]["sampled code"] = dark_share(sampled_translation(model, inputs), strokes)
        if args.cycle:
            result[run].update(cycled_shares(model, real, strokes))
    save("polarity", result)


if __name__ == "__main__":
    main()

"""Metrics of a model's samples: Parzen-window log-likelihood (Goodfellow et al. 2014), mode coverage on 2-D
mixtures (PacGAN), and feature-based quality -- FID, KID, precision/recall, density/coverage and the
Inception-Score analogue -- all from one set of features per evaluation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..data import dataset_spec, load_split, point_modes, to_float, usages
from ..errors import GenlabError
from ..export import SampleReader
from ..metrics.features import content_hash, extract_batches, extractor_identity, read_channels, reference_features
from ..metrics.modes import mode_coverage, stacked_mode_coverage
from ..metrics.parzen import parzen_evaluate
from ..metrics.quality import classifier_score, density_coverage, fid, kid, precision_recall
from .context import EvalContext, FeaturePair, draw_samples, model_batches, reference_images, resolve_extractor
from .records import Metric, register_metric

TOY_MODE_SAMPLES = 2500  # PacGAN's toy protocol
STACKED_MODE_SAMPLES = 26_000  # PacGAN's Stacked MNIST protocol


def _parzen(ctx: EvalContext) -> dict[str, Any]:
    """Goodfellow et al. (2014): 10,000 samples, sigma on 1,000 validation images, real-valued test set."""
    config, o = ctx.config, ctx.options
    spec = dataset_spec(config.data.name)
    if spec.kind == "points":
        raise GenlabError("metric parzen is for image data")
    valid_split = "valid" if "valid" in spec.splits else "train"
    valid = to_float(load_split(config, valid_split, raw=True).head(1000).images)
    test = to_float(load_split(config, o.split, raw=True).head(o.images).images)
    result = parzen_evaluate(draw_samples(ctx.model, o.parzen_samples, o.seed), valid, test)
    # Goodfellow et al. chose sigma on held-out images: true only when training used train50k
    result["sigma_chosen_on_held_out_images"] = config.data.train_split == "train50k"
    return result


def _modes(ctx: EvalContext) -> dict[str, Any]:
    """Mode coverage: PacGAN's 2,500 samples on a toy 2-D mixture, its 26,000 on Stacked MNIST (digits whose
    spec scores modes: each channel is a digit)."""
    name, o = ctx.config.data.name, ctx.options
    modes = point_modes(name)
    if modes is None and counts_stacked_modes(name):
        return _stacked_modes(ctx)
    if modes is None:
        known = usages(lambda s: "modes" in s.metric_families)
        raise GenlabError(f"metric modes needs data with known modes ({known}), not {name!r}")
    centers, std = modes
    return mode_coverage(draw_samples(ctx.model, o.mode_samples or TOY_MODE_SAMPLES, o.seed), centers, std)


def counts_stacked_modes(name: str) -> bool:
    """Whether data is scored by its mode count and made of digits: Stacked MNIST, a digit per channel."""
    spec = dataset_spec(name)
    return spec.kind == "digits" and "modes" in spec.metric_families


def second_counter_name(first: str) -> str:
    """The shipped digit network that counts Stacked MNIST modes a second time: ``digits-plain`` (clean data and
    mild noise, another recipe than digits-v2's), or digits-v2 when the first counter is digits-plain."""
    return "digits-v2" if first == "digits-plain" else "digits-plain"


def _stacked_modes(ctx: EvalContext) -> dict[str, Any]:
    """Each channel of every sample read by the digit feature network and by a second one trained another way
    (``read_channels``: the three channels of a batch in one pass, in inference mode); modes and KL under both,
    and the share of samples whose mode the two read alike."""
    o = ctx.options
    first = ctx.extractor(ctx.config.data.name)
    second_name = second_counter_name(extractor_identity(first)["extractor"])
    second = resolve_extractor(second_name, None, ctx.config.data.name).to(ctx.model.device).eval()
    batches = model_batches(ctx.model, o.mode_samples or STACKED_MODE_SAMPLES, o.seed)
    probs = [(read_channels(first, batch), read_channels(second, batch)) for batch in batches]
    first_probs, second_probs = (torch.cat(p) for p in zip(*probs))
    other = stacked_mode_coverage(second_probs)
    agree = (first_probs.argmax(-1) == second_probs.argmax(-1)).all(dim=1).double().mean()
    return {
        **stacked_mode_coverage(first_probs),
        "second_modes": other["modes"],
        "second_reverse_kl": other["reverse_kl"],
        "second_low_confidence": other["low_confidence"],
        "counters_agree": float(agree),
        "_provenance": {**extractor_identity(first), "second_counter": second_name},
    }


def stacked_mode_reader(name: str, extractor: Any = None) -> SampleReader | None:
    """For samples of Stacked MNIST data: each sample's mode (100 r + 10 g + b) as the data's digit network (or
    ``extractor``) reads its channels, to label an .npz of samples; None for other data."""
    if not counts_stacked_modes(name):
        return None
    network = resolve_extractor(extractor, None, name)
    weights = torch.tensor([100, 10, 1])
    identity = extractor_identity(network)
    return SampleReader(
        read=lambda images: read_channels(network, images).argmax(dim=-1) @ weights,
        classes=[f"{mode:03d}" for mode in range(1000)],
        source=f"{identity['extractor']} {identity['extractor_sha256']}",
    )


def quality_features(ctx: EvalContext) -> FeaturePair:
    """Real (cached) and generated features under one extractor, computed once per evaluation."""
    if ctx.quality is not None:
        return ctx.quality
    config, o = ctx.config, ctx.options
    if dataset_spec(config.data.name).kind == "points":
        raise GenlabError("fid, kid, pr, dc and is are for image data; use --metrics modes on point data")
    extractor = ctx.extractor(config.data.name)
    real = reference_images(ctx)
    reference = reference_features(real, extractor)
    fake = extract_batches(
        extractor, model_batches(ctx.model, o.samples, o.seed), logits="is" in ctx.metrics
    )  # one batch of samples at a time: only features are kept
    ctx.quality = FeaturePair(
        reference["features"],
        fake["features"],
        logits=fake.get("logits"),
        provenance={
            **extractor_identity(extractor),
            "real_images": len(real),
            "generated_images": len(fake["features"]),
            "reference": ctx.reference_name,
            "reference_sha256": content_hash(real),
        },
    )
    return ctx.quality


def _on_features(compute: Callable[[FeaturePair], dict]) -> Callable[[EvalContext], dict]:
    """A sample-quality metric: ``compute`` gets the shared features; provenance names the extractor."""

    def metric(ctx: EvalContext) -> dict[str, Any]:
        q = quality_features(ctx)
        return {**compute(q), "_provenance": q.provenance}

    return metric


def _classifier_score(q: FeaturePair) -> dict[str, Any]:
    """Inception-Score analogue from the extractor's class logits (Salimans et al. 2016)."""
    if q.logits is None:
        raise GenlabError("metric is needs an extractor with class logits (the digit network has them)")
    return classifier_score(q.logits)


def _counted_on(r: dict) -> str:
    """How many samples the modes were counted on, and by which network (Stacked MNIST)."""
    reader = r.get("provenance", {}).get("extractor")
    return f"{r['samples']} samples" + (f", each channel read by {reader}" if reader else "")


def _second_counter_rows(r: dict) -> list[tuple[str, str]]:
    """Stacked MNIST: the modes and KL read by the second digit network, and how often the two agree."""
    if "second_modes" not in r:
        return []
    name = r.get("provenance", {}).get("second_counter", "second network")
    return [
        (f"modes / reverse KL under {name}", f"{r['second_modes']} / {r['second_reverse_kl']:.3f}"),
        ("samples both networks read alike", f"{100 * r['counters_agree']:.1f}%"),
    ]


def _features_used(r: dict) -> str:
    q = r["provenance"]
    return (
        f"(features: {q['extractor']} {q['extractor_sha256'][:12]}; {q['generated_images']} samples "
        f"vs {q['real_images']} {q['reference']} images)"
    )


def _quality(
    name: str,
    compute: Callable[[FeaturePair], dict],
    headline: tuple[str, ...],
    rows: Callable[[dict], list[tuple[str, str]]],
    spread: dict[str, str] | None = None,
    scale: float = 1.0,
) -> None:
    register_metric(
        Metric(
            name,
            _on_features(compute),
            headline=headline,
            rows=rows,
            family="quality",
            spread=spread or {},
            features=True,
            note=_features_used,
            note_group="quality",
            display_scale=scale,
        )
    )


register_metric(
    Metric(
        "parzen",
        _parzen,
        headline=("log_likelihood",),
        family="parzen",
        spread={"log_likelihood": "stderr"},
        rows=lambda r: [
            ("Parzen log-likelihood (nats)", f"{r['log_likelihood']:.1f} ± {r['stderr']:.1f}"),
            ("  sigma / samples / test images", f"{r['sigma']:.3f} / {r['samples']} / {r['test_images']}"),
        ],
    )
)
register_metric(
    Metric(
        "modes",
        _modes,
        headline=("modes", "high_quality", "reverse_kl", "second_modes", "second_reverse_kl"),
        family="modes",
        rows=lambda r: (
            [
                ("modes captured", f"{r['modes']} / {r['total_modes']}"),
                ("high-quality samples", f"{100 * r['high_quality']:.1f}%"),
                ("reverse KL", f"{r['reverse_kl']:.3f}"),
            ]
            + (
                [("channel digits read with confidence < 0.9", f"{100 * r['low_confidence']:.1f}%")]
                if "low_confidence" in r
                else []
            )
            + _second_counter_rows(r)
            + [("  counted on", _counted_on(r))]
        ),
    )
)
_quality("fid", lambda q: fid(q.real, q.fake), ("fid",), lambda r: [("FID", f"{r['fid']:.3f}")])
_quality(
    "kid",
    lambda q: kid(q.real, q.fake),
    ("kid",),
    spread={"kid": "kid_std"},
    scale=1000.0,
    rows=lambda r: [("KID x 1000", f"{1000 * r['kid']:.3f} ± {1000 * r['kid_std']:.3f}")],
)
_quality(
    "pr",
    lambda q: precision_recall(q.real, q.fake),
    ("precision", "recall"),
    lambda r: [("precision / recall", f"{r['precision']:.3f} / {r['recall']:.3f}")],
)
_quality(
    "dc",
    lambda q: density_coverage(q.real, q.fake),
    ("density", "coverage"),
    lambda r: [("density / coverage", f"{r['density']:.3f} / {r['coverage']:.3f}")],
)
_quality(
    "is",
    _classifier_score,
    ("is",),
    spread={"is": "is_std"},
    rows=lambda r: [("classifier score (IS analogue)", f"{r['is']:.3f} ± {r['is_std']:.3f}")],
)

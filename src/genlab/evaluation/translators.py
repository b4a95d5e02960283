"""Metrics of image-to-image models: FID/KID of each direction's translations against the other domain's
real images, and the cycle reconstruction error (Zhu et al. 2017)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..data import to_float
from ..metrics.features import content_hash, extract, extractor_identity, reference_features
from ..metrics.quality import fid, kid
from ..models.translator import DIRECTIONS, domain_indices
from ..samplers import round_trip, translate_images
from .context import EvalContext, FeaturePair, domain_names
from .records import Metric, register_metric

TRANSLATES = ("translate", "it translates test images")
ARROWS = {"a2b": "A→B", "b2a": "B→A"}


def translation_features(ctx: EvalContext, direction: str) -> FeaturePair:
    """Features of one domain's translations and of the other domain's real images (cached reference)."""
    if direction in ctx.translations:
        return ctx.translations[direction]
    config, o = ctx.config, ctx.options
    names = domain_names(config)
    extractor = ctx.extractor(config.data.name)  # the domains' shared default, else --inception-weights
    source, target = domain_indices(direction)
    images = ctx.domains(o.split)[source].head(o.samples)
    real = ctx.domains(o.reference_split)[target].head(o.reference_images)
    reference = reference_features(real, extractor)
    translated = translate_images(ctx.model, images.images, direction, o.batch_size)
    ctx.translations[direction] = FeaturePair(
        reference["features"],
        extract(extractor, translated)["features"],
        {
            **extractor_identity(extractor),
            "direction": direction,
            "generated_images": len(translated),
            "real_images": len(real),
            "translated": f"{names[source]}:{o.split}",
            "reference": f"{names[target]}:{o.reference_split}",
            "reference_sha256": content_hash(real),
        },
    )
    return ctx.translations[direction]


def _features_used(r: dict) -> str:
    q = r["provenance"]
    return (
        f"({ARROWS[q['direction']]} features: {q['extractor']} {q['extractor_sha256'][:12]}; "
        f"{q['generated_images']} translated {q['translated']} vs {q['real_images']} {q['reference']} images)"
    )


def _translation_score(kind: str, direction: str) -> Callable[[EvalContext], dict[str, Any]]:
    """fid_<direction> / kid_<direction>: the direction's translations against the other domain's images."""

    def metric(ctx: EvalContext) -> dict[str, Any]:
        q = translation_features(ctx, direction)
        result = {"fid": fid, "kid": kid}[kind](q.real, q.fake)  # fid, kid, kid_std -> fid_a2b, kid_a2b, ...
        return {(f"{kind}_{direction}" + k[len(kind) :] if k.startswith(kind) else k): v for k, v in result.items()} | {
            "_provenance": q.provenance
        }

    return metric


def _feature_rows(kind: str, direction: str) -> Callable[[dict], list[tuple[str, str]]]:
    key, arrow = f"{kind}_{direction}", ARROWS[direction]
    if kind == "fid":
        return lambda r: [(f"FID {arrow}", f"{r[key]:.3f}")]
    return lambda r: [(f"KID x 1000 {arrow}", f"{1000 * r[key]:.3f} ± {1000 * r[key + '_std']:.3f}")]


def _register_feature_metric(kind: str, direction: str) -> None:
    key = f"{kind}_{direction}"
    register_metric(
        Metric(
            key,
            _translation_score(kind, direction),
            headline=(key,),
            rows=_feature_rows(kind, direction),
            family="translation",
            needs=TRANSLATES,
            features=True,
            directions=(direction,),
            spread={key: f"{key}_std"} if kind == "kid" else {},
            note=_features_used,
            note_group=direction,
            display_scale=1000.0 if kind == "kid" else 1.0,
        )
    )


@torch.no_grad()
def _cycle(ctx: EvalContext) -> dict[str, Any]:
    """Cycle reconstruction x -> G -> F -> x (domain A) and x -> F -> G -> x (B): mean L1 and per-pixel MSE
    in [0, 1] pixel units on the split's first --images images of each domain."""
    o, result = ctx.options, {}
    for side, direction, domain in zip("ab", DIRECTIONS, ctx.domains(o.split)):
        images = domain.head(o.images).images
        l1 = mse = 0.0
        for start in range(0, len(images), o.batch_size):
            trip = round_trip(ctx.model, to_float(images[start : start + o.batch_size]), direction).double()
            error = trip[:, 2] - trip[:, 0]
            l1, mse = l1 + float(error.abs().sum()), mse + float(error.square().sum())
        pixels = max(1, images[:1].numel() * len(images))
        result |= {f"cycle_l1_{side}": l1 / pixels, f"cycle_mse_{side}": mse / pixels, f"images_{side}": len(images)}
    result["cycle_l1"] = (result["cycle_l1_a"] + result["cycle_l1_b"]) / 2
    result["images"] = result["images_a"] + result["images_b"]
    return result


for _kind in ("fid", "kid"):
    for _direction in DIRECTIONS:
        _register_feature_metric(_kind, _direction)
register_metric(
    Metric(
        "cycle",
        _cycle,
        headline=("cycle_l1_a", "cycle_l1_b"),
        family="translation",
        needs=TRANSLATES,
        directions=DIRECTIONS,
        note_group="cycle",
        note=lambda r: (
            f"(cycle: {r['images_a']} A and {r['images_b']} B {r['provenance']['split']} images, [0, 1] pixel units)"
        ),
        rows=lambda r: [
            ("cycle L1 / MSE, A→B→A", f"{r['cycle_l1_a']:.4f} / {r['cycle_mse_a']:.5f}"),
            ("cycle L1 / MSE, B→A→B", f"{r['cycle_l1_b']:.4f} / {r['cycle_mse_b']:.5f}"),
        ],
    )
)

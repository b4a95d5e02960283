"""The sliced Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018; ``genlab.metrics.swd``): a
multi-scale statistic of the pixels themselves, so it needs no feature network -- the offline quality number of
photo folders -- and sees the noise, blur and contrast that a robust digit network is trained to ignore."""

from __future__ import annotations

from typing import Any

from ..data import dataset_spec
from ..errors import GenlabError
from ..metrics.features import content_hash
from ..metrics.swd import PROJECTIONS, patches_per_image, swd
from .context import EvalContext, model_batches, reference_images
from .records import Metric, register_metric


def _swd(ctx: EvalContext) -> dict[str, Any]:
    """--samples samples against the reference images (the run's --reference-split), with one seed for the
    neighbourhoods and the projections."""
    o = ctx.options
    if dataset_spec(ctx.config.data.name).kind == "points":
        raise GenlabError("metric swd is for image data; use --metrics modes on point data")
    real = reference_images(ctx)
    per_image = (patches_per_image(len(real)), patches_per_image(o.samples))
    result = swd(real.images, model_batches(ctx.model, o.samples, o.seed), per_image=per_image, seed=o.seed)
    scores = {key: result.pop(key) for key in ("swd", "swd_levels")}
    provenance = {**result, "reference": ctx.reference_name, "reference_sha256": content_hash(real)}
    return {**scores, "_provenance": provenance}


def _rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    levels = ", ".join(f"{size} px {1000 * value:.2f}" for size, value in r["swd_levels"].items())
    return [("SWD x 1000 (Laplacian levels)", f"{1000 * r['swd']:.2f} ({levels})")]


def _note(r: dict[str, Any]) -> str:
    p = r["provenance"]
    return (
        f"(SWD: {p['descriptors']} 7x7 patches per level ({p['patches_per_image'][1]} per sample, "
        f"{p['patches_per_image'][0]} per reference image), {p.get('projections', PROJECTIONS)} projections; "
        f"{p['generated_images']} samples vs {p['real_images']} {p['reference']} images)"
    )


register_metric(
    Metric("swd", _swd, headline=("swd",), rows=_rows, family="swd", note=_note, note_group="swd", display_scale=1000.0)
)

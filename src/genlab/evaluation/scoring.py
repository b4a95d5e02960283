"""Score a run or an in-memory model with named metrics; every result carries its provenance."""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

import torch

from ..data import ImageData, dataset_spec, load_split
from ..data import default_extractor as data_default_extractor
from ..devices import inference_layout, pick_device
from ..errors import GenlabError
from ..files import read_json, write_json_atomic
from ..models.capabilities import Model
from ..models.translator import DIRECTIONS
from ..nn.inception import FIDInceptionV3
from ..runs import load_run, weights_identity
from ..samplers import check_direction, choose_sampling
from ..version import __version__
from .context import EvalContext, EvalOptions, domain_names
from .records import DRAWS_SAMPLES, METRICS, family, get_metric, scored_weights


def default_metrics(model: Model, config: Any) -> list[str]:
    """What `genlab eval RUN` scores when --metrics is not given: the model's families and the data's (its spec's
    ``metric_families``)."""
    families = dataset_spec(config.data.name).metric_families
    swd = family("swd") if "swd" in families else []  # the pyramid SWD of images (Karras et al. 2018)
    if "modes" in families:
        return family("modes") + swd
    if model.supports("translate"):  # image-to-image: FID/KID of each direction, where the data has an extractor
        ways = [d for d in DIRECTIONS if d in model.directions] or ["a2b"]
        features = bool(data_default_extractor(config.data.name))
        metrics = [
            name
            for name in family("translation")
            if set(METRICS[name].directions) <= set(ways) and (features or not METRICS[name].features)
        ]
        return metrics or [f"fid_{ways[0]}"]  # a one-way model without an extractor: asks for one
    quality = (family("quality") if "quality" in families else []) + swd
    if model.supports("log_weights"):
        return family("likelihood") + quality
    return quality or family("parzen")


def parse_metrics(text: str) -> list[str]:
    """'elbo,nll' -> ['elbo', 'nll'], checking names."""
    names = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise GenlabError(f"unknown metric(s) {unknown or text!r}; available: {', '.join(METRICS)}")
    return names


def evaluate(
    run: str | Path,
    metrics: list[str] | None = None,
    *,
    device: str = "auto",
    write: bool = True,
    sampling: dict[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Score a run; results go to RUN/eval.json (merged with earlier metrics) and are returned. ``sampling``: a
    diffusion model's sampler options (sampler, steps, eta, guidance; None keeps the run's)."""
    model, config = load_run(run, pick_device(device))
    inference_layout(model)
    weights = weights_identity(run)
    default = model.default_sampling() if model.supports("denoise") else None
    chosen = choose_sampling(model, **(sampling or {}))
    results = score(model, config, metrics or default_metrics(model, config), **options)
    for name, result in results.items():
        result["provenance"].update(weights)  # the numbers belong to these weights
        if chosen is not None and METRICS[name].needs == DRAWS_SAMPLES:
            result["provenance"]["sampling"] = sampling_label(chosen, model.last_evaluations)
    if write:
        suffix = "" if chosen == default else f"@{chosen.sampler}-{chosen.steps}"  # another sampler: a column
        stored = {stored_key(name, result, config) + suffix: result for name, result in results.items()}
        merge_into(Path(run) / "eval.json", stored, weights["weights_sha256"])
    return results


def sampling_label(sampling: Any, evaluations: int) -> str:
    """How a diffusion model's samples were drawn: 'heun, 18 steps, 35 network evaluations' (+ eta, guidance)."""
    extras = [f"eta {sampling.eta:g}"] if sampling.eta else []
    extras += [f"guidance {sampling.guidance:g}"] if sampling.guidance else []
    return ", ".join([sampling.sampler, f"{sampling.steps} steps", f"{evaluations} network evaluations", *extras])


def stored_key(name: str, result: dict[str, Any], config: Any) -> str:
    """The eval.json key of a result: the metric's name under the data's default feature network (genlab's
    digit network on digit data, Inception-v3 elsewhere), ``name@extractor`` under any other, so scores of
    another extractor add a column instead of replacing the default one."""
    extractor = result["provenance"].get("extractor")
    return name if extractor in (None, default_extractor(config)) else f"{name}@{extractor}"


def default_extractor(config: Any) -> str:
    """The name of the feature network genlab scores a run's data with when none is named (its spec's, of
    two-domain data the one both domains share; Inception-v3 where there is none offline)."""
    return data_default_extractor(config.data.name) or FIDInceptionV3.name


def check_metrics(model: Model, config: Any, metrics: list[str]) -> None:
    """Fail before the slow part: unknown names, missing model methods, untranslated directions."""
    for name in metrics:
        metric = get_metric(name)
        if metric.needs:
            model.require(metric.needs[0], f"be scored with {name} ({metric.needs[1]})")
        if metric.directions:  # unpaired data, and the direction(s) the model translates
            domain_names(config)
            for direction in metric.directions:
                check_direction(model, direction)


def score(
    model: Model, config: Any, metrics: list[str], *, reference: ImageData | None = None, **options: Any
) -> dict[str, Any]:
    """Score an in-memory model with named metrics (``options``: the fields of EvalOptions); sample metrics compare
    with ``reference`` (named by its ``name``) when given, else with the run's --reference-split."""
    check_metrics(model, config, metrics)
    o = EvalOptions(**options)
    needs_data = any(METRICS[name].scores_data for name in metrics)  # the others load their own images
    data = load_split(config, o.split, for_eval=True).head(o.images).to(model.device) if needs_data else None
    ctx = EvalContext(model, config, o, list(metrics), data)
    if reference is not None:
        ctx.reference, ctx.reference_name = reference, reference.name
    was_training = model.training
    model.eval()
    results: dict[str, Any] = {}
    for name in metrics:
        started = time.perf_counter()
        results[name] = METRICS[name].compute(ctx)
        results[name]["seconds"] = round(time.perf_counter() - started, 2)
        extra = results[name].pop("_provenance", {})
        counts = [results[name].get(key) for key in ("test_images", "samples", "images")]
        n = len(data) if data is not None else next((c for c in counts if c is not None), extra.get("generated_images"))
        results[name]["provenance"] = {**provenance(config, o.split, n, o.seed, model.device), **extra}
    model.train(was_training)
    return results


def provenance(config: Any, split: str, n: int, seed: int, device: torch.device) -> dict[str, Any]:
    """What a number was computed on, with which code, where."""
    return {
        "data": config.data.name,
        "split": split,
        "binarize": config.data.binarize,
        "images": n,
        "seed": seed,
        "genlab": __version__,
        "torch": torch.__version__,
        "device": str(device),
        "host": platform.node(),
    }


def merge_into(path: Path, results: dict[str, Any], weights_sha256: str | None = None) -> None:
    """Add ``results`` to the JSON file at ``path`` (a damaged file is replaced), atomically; earlier entries of
    other weights than ``weights_sha256`` stay, marked ``"stale": true``."""
    existing = {}
    if path.exists():
        try:
            existing = read_json(path)
        except (OSError, ValueError):
            existing = {}
    if not isinstance(existing, dict):
        existing = {}
    for entry in existing.values():
        if isinstance(entry, dict) and weights_sha256 and scored_weights(entry) != weights_sha256:
            entry["stale"] = True
    for key, result in results.items():
        _keep_other_extractor(existing, key, result)
    existing.update(results)
    write_json_atomic(path, existing)


def _keep_other_extractor(existing: dict[str, Any], key: str, result: dict[str, Any]) -> None:
    """A score stored under ``key`` by another feature network (the default before digits-v2, say) moves to
    ``key@ITS_NAME`` instead of being replaced."""
    old = existing.get(key)
    old_prov = old.get("provenance") if isinstance(old, dict) else None
    named = old_prov.get("extractor") if isinstance(old_prov, dict) else None
    if named and named != result.get("provenance", {}).get("extractor"):
        existing.setdefault(f"{key}@{named}", existing.pop(key))

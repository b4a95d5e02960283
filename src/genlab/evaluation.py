"""`genlab eval`: score a run with named metrics, print a table, write eval.json with provenance."""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any, Callable

import torch

from . import __version__
from .errors import GenlabError
from .data import ImageData, to_float
from .data.toy2d import mixture
from .data.unpaired import domain_source, load_domains, split_domains
from .metrics import active_units, elbo_terms, importance_sampled_nll
from .metrics.features import content_hash, extract, extractor_identity, reference_features
from .metrics.modes import mode_coverage
from .metrics.parzen import parzen_evaluate
from .metrics.quality import classifier_score, density_coverage, fid, kid, precision_recall
from .samplers import check_direction, round_trip
from .translation import translate_images
from .training import load_run, load_split, pick_device
from .training.device import inference_layout


def _elbo(model: Any, data: Any, opts: dict) -> dict:
    model.require("elbo_terms", "compute an ELBO")
    result = elbo_terms(model, data, seed=opts["seed"])
    result.update(active_units(model, data))
    return result


def _nll(model: Any, data: Any, opts: dict) -> dict:
    model.require("log_weights", "estimate an importance-sampled NLL")
    return importance_sampled_nll(model, data, k=opts["k"], batch_size=opts["batch_size"], seed=opts["seed"])


@torch.no_grad()
def draw_samples(model: Any, n: int, seed: int, batch_size: int = 500) -> torch.Tensor:
    """n samples from the model in batches, reproducible by seed, on the CPU."""
    model.require("sample", "draw samples")
    gen = torch.Generator().manual_seed(seed)
    return torch.cat([model.sample(min(batch_size, n - i), generator=gen).float().cpu()
                      for i in range(0, n, batch_size)])


def _modes(model: Any, data: Any, opts: dict) -> dict:
    name = opts["config"].data.name
    if not name.startswith("toy2d:"):
        raise GenlabError(f"metric modes needs a toy2d dataset, not {name!r}")
    centers, std = mixture(name.split(":", 1)[1])
    return mode_coverage(draw_samples(model, opts["mode_samples"], opts["seed"]), centers, std)


def _parzen(model: Any, data: Any, opts: dict) -> dict:
    """Goodfellow et al. (2014): 10,000 samples, sigma on 1,000 validation images, real-valued test set."""
    config = opts["config"]
    if config.data.name.startswith("toy2d:"):
        raise GenlabError("metric parzen is for image data")
    valid_split = "valid" if config.data.name in DIGIT_DATA else "train"
    valid = to_float(load_split(config, valid_split, raw=True).head(1000).images)
    test = to_float(load_split(config, opts["split"], raw=True).head(opts["images"]).images)
    samples = draw_samples(model, opts["parzen_samples"], opts["seed"])
    result = parzen_evaluate(samples, valid, test)
    # Goodfellow et al. chose sigma on held-out images: true only when training used train50k
    result["sigma_chosen_on_held_out_images"] = config.data.train_split == "train50k"
    return result


DIGIT_DATA = ("mnist", "mnistm", "synthdigits")  # default extractor: genlab's digit network; MNIST splits


def _quality_inputs(model: Any, opts: dict) -> dict:
    """Real (cached) and generated features under one extractor, computed once per evaluation."""
    if "quality" in opts:
        return opts["quality"]
    config = opts["config"]
    if config.data.name.startswith("toy2d:"):
        raise GenlabError("fid, kid, pr, dc and is are for image data; use --metrics modes on toy2d data")
    extractor = _extractor(model, opts, config.data.name)
    real = load_split(config, opts["reference_split"], raw=True).head(opts["reference_images"])
    reference = reference_features(real, extractor)
    samples = draw_samples(model, opts["quality_samples"], opts["seed"])
    fake = extract(extractor, samples, logits="is" in opts["metrics"])
    opts["quality"] = {"real": reference["features"], "fake": fake["features"], "logits": fake.get("logits"),
                       "provenance": {**extractor_identity(extractor), "real_images": len(real),
                                      "generated_images": len(samples),
                                      "reference": f"{config.data.name}:{opts['reference_split']}",
                                      "reference_sha256": content_hash(real)}}
    return opts["quality"]


def _extractor(model: Any, opts: dict, data_name: str) -> Any:
    """The feature network, resolved once per evaluation, on the model's device."""
    if "extractor_module" not in opts:
        extractor = resolve_extractor(opts["extractor"], opts["inception_weights"], data_name)
        opts["extractor_module"] = extractor.to(model.device).eval()
    return opts["extractor_module"]


def resolve_extractor(spec: Any, inception_weights: str | None, data_name: str) -> Any:
    """The feature network: Inception-v3 from its weights file, a named/saved extractor, or the default."""
    if inception_weights:
        from .nn.inception import load_inception

        return load_inception(inception_weights)
    from .metrics.extractors import load_extractor

    if spec is None:
        if data_name not in DIGIT_DATA:
            raise GenlabError(f"no offline feature extractor for {data_name!r}: pass --inception-weights "
                              "pt_inception-2015-12-05-6726825d.pth, or --extractor digits|CLASSIFIER_RUN")
        spec = "digits"
    return load_extractor(spec)


def _with_quality(compute: Callable[[dict], dict]) -> Callable[[Any, Any, dict], dict]:
    """A sample-quality metric: ``compute`` gets the shared features; provenance names the extractor."""
    def metric(model: Any, data: Any, opts: dict) -> dict:
        q = _quality_inputs(model, opts)
        return {**compute(q), "_provenance": q["provenance"]}

    metric.__doc__ = compute.__doc__
    return metric


def _classifier_score(q: dict) -> dict:
    """Inception-Score analogue from the extractor's class logits (Salimans et al. 2016)."""
    if q["logits"] is None:
        raise GenlabError("metric is needs an extractor with class logits (the digit network has them)")
    return classifier_score(q["logits"])


# -- translation quality of image-to-image models (cyclegan) ----------------------------------------
DIRECTIONS = ("a2b", "b2a")
SIDES = {"a2b": (0, 1), "b2a": (1, 0)}  # direction -> (translated domain, domain compared with)


def domain_names(config: Any) -> tuple[str, str]:
    """The dataset names of the two domains of a run trained on ``unpaired:A,B``."""
    name = config.data.name
    if not name.startswith("unpaired:"):
        raise GenlabError(f"translation metrics need a run trained on unpaired:A,B data, not {name!r}")
    a, b = split_domains(name.split(":", 1)[1])
    return domain_source(a), domain_source(b)


def _domains(config: Any, opts: dict, split: str) -> tuple[ImageData, ImageData]:
    """Both domains of the run's split, each once (not repeated as in training), loaded once per evaluation."""
    loaded = opts.setdefault("domains", {})
    if split not in loaded:
        d, m = config.data, config.model
        loaded[split] = load_domains(d.name.split(":", 1)[1], split, data_dir=d.data_dir, image_size=m.image_size,
                                     channels=m.channels, test_fraction=d.test_fraction, seed=config.train.seed)
    return loaded[split]


def _translation_inputs(model: Any, opts: dict, direction: str) -> dict:
    """Features of one domain's translations and of the other domain's real images (cached reference)."""
    done = opts.setdefault("translations", {})
    if direction in done:
        return done[direction]
    config = opts["config"]
    names = domain_names(config)
    digits = all(n in DIGIT_DATA for n in names)  # else resolve_extractor asks for --inception-weights
    extractor = _extractor(model, opts, names[1] if digits else config.data.name)
    source, target = SIDES[direction]
    images = _domains(config, opts, opts["split"])[source].head(opts["quality_samples"])
    real = _domains(config, opts, opts["reference_split"])[target].head(opts["reference_images"])
    reference = reference_features(real, extractor)
    translated = translate_images(model, images.images, direction, opts["batch_size"])
    done[direction] = {"real": reference["features"], "fake": extract(extractor, translated)["features"],
                       "provenance": {**extractor_identity(extractor), "direction": direction,
                                      "generated_images": len(translated), "real_images": len(real),
                                      "translated": f"{names[source]}:{opts['split']}",
                                      "reference": f"{names[target]}:{opts['reference_split']}",
                                      "reference_sha256": content_hash(real)}}
    return done[direction]


def _translation_metric(kind: str, direction: str) -> Callable[[Any, Any, dict], dict]:
    """fid_<direction> / kid_<direction>: the direction's translations against the other domain's images."""
    compute, prefix = {"fid": fid, "kid": kid}[kind], f"{kind}_{direction}"

    def metric(model: Any, data: Any, opts: dict) -> dict:
        q = _translation_inputs(model, opts, direction)
        result = compute(q["real"], q["fake"])  # fid, kid, kid_std -> fid_a2b, kid_a2b, kid_a2b_std
        return {(prefix + k[len(kind):] if k.startswith(kind) else k): v for k, v in result.items()} | {
            "_provenance": q["provenance"]}

    metric.__doc__ = f"{kind.upper()} of the {direction} translations of the split against the other domain."
    return metric


@torch.no_grad()
def _cycle(model: Any, data: Any, opts: dict) -> dict:
    """Cycle reconstruction x -> G -> F -> x (domain A) and x -> F -> G -> x (B): mean L1 and per-pixel MSE
    in [0, 1] pixel units on the split's first --images images of each domain."""
    result: dict[str, Any] = {}
    for side, direction, domain in zip("ab", DIRECTIONS, _domains(opts["config"], opts, opts["split"])):
        images = domain.head(opts["images"]).images
        l1 = mse = 0.0
        for start in range(0, len(images), opts["batch_size"]):
            trip = round_trip(model, to_float(images[start:start + opts["batch_size"]]), direction).double()
            error = trip[:, 2] - trip[:, 0]
            l1, mse = l1 + float(error.abs().sum()), mse + float(error.square().sum())
        pixels = max(1, images[:1].numel() * len(images))
        result |= {f"cycle_l1_{side}": l1 / pixels, f"cycle_mse_{side}": mse / pixels, f"images_{side}": len(images)}
    result["cycle_l1"] = (result["cycle_l1_a"] + result["cycle_l1_b"]) / 2
    result["images"] = result["images_a"] + result["images_b"]
    return result


METRICS: dict[str, Callable[[Any, Any, dict], dict]] = {
    "elbo": _elbo, "nll": _nll, "modes": _modes, "parzen": _parzen,
    "fid": _with_quality(lambda q: fid(q["real"], q["fake"])),
    "kid": _with_quality(lambda q: kid(q["real"], q["fake"])),
    "pr": _with_quality(lambda q: precision_recall(q["real"], q["fake"])),
    "dc": _with_quality(lambda q: density_coverage(q["real"], q["fake"])),
    "is": _with_quality(_classifier_score),
    **{f"{kind}_{d}": _translation_metric(kind, d) for kind in ("fid", "kid") for d in DIRECTIONS},
    "cycle": _cycle,
}
QUALITY_METRICS = ("fid", "kid", "pr", "dc", "is")
TRANSLATION_FEATURE_METRICS = ("fid_a2b", "fid_b2a", "kid_a2b", "kid_b2a")
TRANSLATION_METRICS = TRANSLATION_FEATURE_METRICS + ("cycle",)
FEATURE_METRICS = QUALITY_METRICS + TRANSLATION_FEATURE_METRICS  # scores that depend on the extractor
# The numbers `genlab compare` and training-time evaluation show for each metric.
HEADLINE = {"elbo": ("neg_elbo",), "nll": ("nll",), "parzen": ("log_likelihood",),
            "modes": ("modes", "high_quality", "reverse_kl"), "fid": ("fid",), "kid": ("kid",),
            "pr": ("precision", "recall"), "dc": ("density", "coverage"), "is": ("is",),
            **{m: (m,) for m in TRANSLATION_FEATURE_METRICS}, "cycle": ("cycle_l1_a", "cycle_l1_b")}
# what each metric needs of the model: (method, why); elbo/nll check their own methods
NEEDS = {"elbo": None, "nll": None, **{m: ("translate", "it translates test images") for m in TRANSLATION_METRICS}}


def default_metrics(model: Any, config: Any) -> list[str]:
    """What `genlab eval RUN` scores when --metrics is not given."""
    if config.data.name.startswith("toy2d:"):
        return ["modes"]
    if model.supports("translate"):  # image-to-image: FID/KID of each direction it has on digit data, cycle
        ways = [d for d in DIRECTIONS if d in model.directions] or ["a2b"]
        digits = config.data.name.startswith("unpaired:") and all(n in DIGIT_DATA for n in domain_names(config))
        features = [m for m in TRANSLATION_FEATURE_METRICS if m[-3:] in ways] if digits else []
        metrics = features + (["cycle"] if len(ways) == 2 else [])
        return metrics or [f"fid_{ways[0]}"]  # a one-way model off digit data: asks for an extractor
    quality = list(QUALITY_METRICS) if config.data.name in DIGIT_DATA else []
    if model.supports("log_weights"):
        return ["elbo", "nll"] + quality
    return quality or ["parzen"]


def parse_metrics(text: str) -> list[str]:
    """'elbo,nll' -> ['elbo', 'nll'], checking names."""
    names = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise GenlabError(f"unknown metric(s) {unknown or text!r}; available: {', '.join(METRICS)}")
    return names


def evaluate(run: str | Path, metrics: list[str] | None = None, *, device: str = "auto", write: bool = True,
             **options: Any) -> dict[str, Any]:
    """Score a run; results go to RUN/eval.json (merged with earlier metrics) and are returned."""
    model, config = load_run(run, pick_device(device))
    inference_layout(model)
    results = score(model, config, metrics or default_metrics(model, config), **options)
    if write:
        _merge_into(Path(run) / "eval.json", results)
    return results


def score(model: Any, config: Any, metrics: list[str], *, k: int = 5000, images: int | None = None,
          split: str = "test", batch_size: int = 100, seed: int = 0, parzen_samples: int = 10_000,
          samples: int = 10_000, extractor: Any = None, inception_weights: str | None = None,
          reference_split: str = "test", reference_images: int | None = None) -> dict[str, Any]:
    """Score an in-memory model with named metrics; every result carries its provenance."""
    for name in metrics:  # fail before the slow part
        if name not in METRICS:
            raise GenlabError(f"unknown metric {name!r}; available: {', '.join(METRICS)}")
        need = NEEDS.get(name, ("sample", "it draws samples"))
        if need:
            model.require(need[0], f"be scored with {name} ({need[1]})")
        if name in TRANSLATION_METRICS:  # unpaired data, and the direction(s) the model translates
            domain_names(config)
            for direction in DIRECTIONS if name == "cycle" else (name[-3:],):
                check_direction(model, direction)
    needs_data = any(name in ("elbo", "nll") for name in metrics)  # the sample-based metrics load their own
    data = load_split(config, split, for_eval=True).head(images).to(model.device) if needs_data else None
    opts = {"k": k, "batch_size": batch_size, "seed": seed, "config": config, "split": split, "images": images,
            "parzen_samples": parzen_samples, "mode_samples": 2500, "quality_samples": samples,
            "extractor": extractor, "inception_weights": inception_weights, "reference_split": reference_split,
            "reference_images": reference_images, "metrics": metrics}
    was_training = model.training
    model.eval()
    results: dict[str, Any] = {}
    for name in metrics:
        started = time.perf_counter()
        results[name] = METRICS[name](model, data, opts)
        results[name]["seconds"] = round(time.perf_counter() - started, 2)
        extra = results[name].pop("_provenance", {})
        counts = [results[name].get(key) for key in ("test_images", "samples", "images")]
        n = len(data) if data is not None else next((c for c in counts if c is not None),
                                                     extra.get("generated_images"))
        results[name]["provenance"] = {**_provenance(config, split, n, seed, model.device), **extra}
    model.train(was_training)
    return results


def _provenance(config: Any, split: str, n: int, seed: int, device: torch.device) -> dict[str, Any]:
    return {"data": config.data.name, "split": split, "binarize": config.data.binarize, "images": n,
            "seed": seed, "genlab": __version__, "torch": torch.__version__, "device": str(device),
            "host": platform.node()}


def _merge_into(path: Path, results: dict[str, Any]) -> None:
    existing = {}
    if path.exists():
        try:
            existing = json.loads(path.read_text())
        except json.JSONDecodeError:
            existing = {}
    existing.update(results)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(existing, indent=2))
    tmp.replace(path)


def format_table(results: dict[str, Any]) -> str:
    """A plain-text table of the headline numbers."""
    rows = []
    if "elbo" in results:
        r = results["elbo"]
        rows += [("-ELBO (nats)", f"{r['neg_elbo']:.2f} ± {r['neg_elbo_stderr']:.2f}"),
                 ("  reconstruction (nats)", f"{r['recon']:.2f}"), ("  KL (nats)", f"{r['kl']:.2f}"),
                 ("-ELBO (bits/dim)", f"{r['neg_elbo_bits_per_dim']:.4f}"),
                 ("active units", f"{r['active_units']} / {r['latent_dim']}")]
    if "nll" in results:
        r = results["nll"]
        rows += [(f"NLL, k={r['k']} (nats)", f"{r['nll']:.2f} ± {r['nll_stderr']:.2f}"),
                 ("NLL (bits/dim)", f"{r['bits_per_dim']:.4f}")]
    if "modes" in results:
        r = results["modes"]
        rows += [("modes captured", f"{r['modes']} / {r['total_modes']}"),
                 ("high-quality samples", f"{100 * r['high_quality']:.1f}%"),
                 ("reverse KL", f"{r['reverse_kl']:.3f}")]
    if "parzen" in results:
        r = results["parzen"]
        rows += [("Parzen log-likelihood (nats)", f"{r['log_likelihood']:.1f} ± {r['stderr']:.1f}"),
                 ("  sigma / samples / test images", f"{r['sigma']:.3f} / {r['samples']} / {r['test_images']}")]
    rows += _quality_rows(results) + _translation_rows(results)
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    scored = [results[m]["provenance"] for m in ("elbo", "nll") if m in results]
    if scored:
        lines.append(f"({scored[0]['images']} {scored[0]['split']} images)")
    quality = [results[m]["provenance"] for m in QUALITY_METRICS if m in results]
    if quality:
        q = quality[0]
        lines.append(f"(features: {q['extractor']} {q['extractor_sha256'][:12]}; {q['generated_images']} samples "
                     f"vs {q['real_images']} {q['reference']} images)")
    for direction in DIRECTIONS:
        feats = [results[m]["provenance"] for m in TRANSLATION_FEATURE_METRICS if m.endswith(direction)
                 and m in results]
        if feats:
            q = feats[0]
            lines.append(f"({_ARROWS[direction]} features: {q['extractor']} {q['extractor_sha256'][:12]}; "
                         f"{q['generated_images']} translated {q['translated']} vs {q['real_images']} "
                         f"{q['reference']} images)")
    if "cycle" in results:
        r = results["cycle"]
        lines.append(f"(cycle: {r['images_a']} A and {r['images_b']} B {r['provenance']['split']} images, "
                     "[0, 1] pixel units)")
    return "\n".join(lines)


def _quality_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    if "fid" in results:
        rows.append(("FID", f"{results['fid']['fid']:.3f}"))
    if "kid" in results:
        r = results["kid"]
        rows.append(("KID x 1000", f"{1000 * r['kid']:.3f} ± {1000 * r['kid_std']:.3f}"))
    if "pr" in results:
        rows.append(("precision / recall", f"{results['pr']['precision']:.3f} / {results['pr']['recall']:.3f}"))
    if "dc" in results:
        rows.append(("density / coverage", f"{results['dc']['density']:.3f} / {results['dc']['coverage']:.3f}"))
    if "is" in results:
        rows.append(("classifier score (IS analogue)", f"{results['is']['is']:.3f} ± {results['is']['is_std']:.3f}"))
    return rows


_ARROWS = {"a2b": "A→B", "b2a": "B→A"}


def _translation_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for direction, arrow in _ARROWS.items():
        if f"fid_{direction}" in results:
            rows.append((f"FID {arrow}", f"{results[f'fid_{direction}'][f'fid_{direction}']:.3f}"))
        if f"kid_{direction}" in results:
            r, key = results[f"kid_{direction}"], f"kid_{direction}"
            rows.append((f"KID x 1000 {arrow}", f"{1000 * r[key]:.3f} ± {1000 * r[key + '_std']:.3f}"))
    if "cycle" in results:
        r = results["cycle"]
        rows += [("cycle L1 / MSE, A→B→A", f"{r['cycle_l1_a']:.4f} / {r['cycle_mse_a']:.5f}"),
                 ("cycle L1 / MSE, B→A→B", f"{r['cycle_l1_b']:.4f} / {r['cycle_mse_b']:.5f}")]
    return rows

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
from .data import to_float
from .data.toy2d import mixture
from .metrics import active_units, elbo_terms, importance_sampled_nll
from .metrics.features import content_hash, extract, extractor_identity, reference_features
from .metrics.modes import mode_coverage
from .metrics.parzen import parzen_evaluate
from .metrics.quality import classifier_score, density_coverage, fid, kid, precision_recall
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
    extractor = resolve_extractor(opts["extractor"], opts["inception_weights"], config.data.name)
    extractor = extractor.to(model.device).eval()
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


METRICS: dict[str, Callable[[Any, Any, dict], dict]] = {
    "elbo": _elbo, "nll": _nll, "modes": _modes, "parzen": _parzen,
    "fid": _with_quality(lambda q: fid(q["real"], q["fake"])),
    "kid": _with_quality(lambda q: kid(q["real"], q["fake"])),
    "pr": _with_quality(lambda q: precision_recall(q["real"], q["fake"])),
    "dc": _with_quality(lambda q: density_coverage(q["real"], q["fake"])),
    "is": _with_quality(_classifier_score),
}
QUALITY_METRICS = ("fid", "kid", "pr", "dc", "is")
# The numbers `genlab compare` and training-time evaluation show for each metric.
HEADLINE = {"elbo": ("neg_elbo",), "nll": ("nll",), "parzen": ("log_likelihood",),
            "modes": ("modes", "high_quality", "reverse_kl"), "fid": ("fid",), "kid": ("kid",),
            "pr": ("precision", "recall"), "dc": ("density", "coverage"), "is": ("is",)}


def default_metrics(model: Any, config: Any) -> list[str]:
    """What `genlab eval RUN` scores when --metrics is not given."""
    if config.data.name.startswith("toy2d:"):
        return ["modes"]
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
        if name not in ("elbo", "nll"):
            model.require("sample", f"be scored with {name} (it draws samples)")
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
        n = len(data) if data is not None else results[name].get(
            "test_images", results[name].get("samples", extra.get("generated_images")))
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
    rows += _quality_rows(results)
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

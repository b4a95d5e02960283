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
from .metrics.modes import mode_coverage
from .metrics.parzen import parzen_evaluate
from .training import load_run, load_split, pick_device


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
    valid_split = "valid" if config.data.name == "mnist" else "train"
    valid = to_float(load_split(config, valid_split, raw=True).head(1000).images)
    test = to_float(load_split(config, opts["split"], raw=True).head(opts["images"]).images)
    samples = draw_samples(model, opts["parzen_samples"], opts["seed"])
    result = parzen_evaluate(samples, valid, test)
    # Goodfellow et al. chose sigma on held-out images: true only when training used train50k
    result["sigma_chosen_on_held_out_images"] = config.data.train_split == "train50k"
    return result


METRICS: dict[str, Callable[[Any, Any, dict], dict]] = {
    "elbo": _elbo, "nll": _nll, "modes": _modes, "parzen": _parzen}


def default_metrics(model: Any, config: Any) -> list[str]:
    """What `genlab eval RUN` scores when --metrics is not given."""
    if config.data.name.startswith("toy2d:"):
        return ["modes"]
    if model.supports("log_weights"):
        return ["elbo", "nll"]
    return ["parzen"]


def parse_metrics(text: str) -> list[str]:
    """'elbo,nll' -> ['elbo', 'nll'], checking names."""
    names = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise GenlabError(f"unknown metric(s) {unknown or text!r}; available: {', '.join(METRICS)}")
    return names


def evaluate(run: str | Path, metrics: list[str] | None = None, *, k: int = 5000, images: int | None = None,
             split: str = "test", batch_size: int = 100, seed: int = 0, device: str = "auto",
             parzen_samples: int = 10_000, write: bool = True) -> dict[str, Any]:
    """Score a run; results go to RUN/eval.json (merged with earlier metrics) and are returned."""
    model, config = load_run(run, pick_device(device))
    metrics = metrics or default_metrics(model, config)
    for name in metrics:  # fail before the slow part
        if name not in METRICS:
            raise GenlabError(f"unknown metric {name!r}; available: {', '.join(METRICS)}")
    needs_data = any(name in ("elbo", "nll") for name in metrics)  # the sample-based metrics load their own
    data = load_split(config, split, for_eval=True).head(images).to(model.device) if needs_data else None
    opts = {"k": k, "batch_size": batch_size, "seed": seed, "config": config, "split": split, "images": images,
            "parzen_samples": parzen_samples, "mode_samples": 2500}
    results: dict[str, Any] = {}
    for name in metrics:
        started = time.perf_counter()
        results[name] = METRICS[name](model, data, opts)
        results[name]["seconds"] = round(time.perf_counter() - started, 2)
        n = len(data) if data is not None else results[name].get("test_images", results[name].get("samples"))
        results[name]["provenance"] = _provenance(config, split, n, seed, model.device)
    if write:
        _merge_into(Path(run) / "eval.json", results)
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
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    scored = [results[m]["provenance"] for m in ("elbo", "nll") if m in results]
    if scored:
        lines.append(f"({scored[0]['images']} {scored[0]['split']} images)")
    return "\n".join(lines)

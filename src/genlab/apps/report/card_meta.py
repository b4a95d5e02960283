"""The YAML front matter of a model card, what the Hugging Face Hub reads: library, task, license, tags, datasets
and a ``model-index`` with the scores of the card's weights, machine-readable (genlab.apps.report.cards writes
the rest of the card)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import yaml

from ...data import short_names
from ...errors import GenlabError
from ...evaluation import METRICS, scored_weights
from ...models.capabilities import Model

PLAIN_YAML = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")
YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}  # plain words YAML reads as non-strings


def front_matter(model: Model, config: Any, name: str, scores: dict[str, dict], weights_sha256: str) -> list[str]:
    """The YAML header the Hub reads: library, task, license, tags, datasets and, when eval.json has scores of
    these weights, their ``model-index`` (``name``: the model's name there)."""
    datasets = dataset_names(config)
    tags = ["genlab", config.model_name, *model_traits(config), *datasets]
    task = pipeline_tag(model)
    lines = ["---", "library_name: genlab", f"pipeline_tag: {task}", "license: other", "tags:"]
    lines += [f"- {yaml_string(tag)}" for tag in dict.fromkeys(tags)]
    lines += ["datasets:"] + [f"- {yaml_string(name)}" for name in dict.fromkeys(datasets)]
    return lines + model_index(name, task, scores, weights_sha256, config.data.name) + ["---", ""]


def pipeline_tag(model: Model) -> str:
    """The Hub's task of the model: image-to-image for translators, generation for samplers, else classification."""
    if model.supports("translate"):
        return "image-to-image"
    return "unconditional-image-generation" if model.supports("sample") else "image-classification"


def model_traits(config: Any) -> list[str]:
    """Tags of the model's config: its network architecture, objective, and whether it is class-conditional."""
    c = config.model
    traits = [str(getattr(c, field)) for field in ("arch", "objective") if getattr(c, field, "auto") != "auto"]
    return traits + (["conditional"] if getattr(c, "conditional", False) else [])


def dataset_names(config: Any) -> list[str]:
    """The data a run trained on as the card names it (its spec's short name: mnist, a folder's or file's name,
    toy2d-ring8); both domains of two-domain data."""
    return short_names(config.data.name)


def yaml_string(text: str) -> str:
    """``text`` as a YAML string: plain when it is a simple word, else double-quoted (JSON's quoting is YAML's)."""
    return text if PLAIN_YAML.fullmatch(text) and text.lower() not in YAML_WORDS else json.dumps(text)


def model_index(name: str, task: str, scores: dict[str, dict], weights_sha256: str, data: str) -> list[str]:
    """The ``model-index`` lines: per dataset and split the scores were computed on (``data``: the run's, where an
    entry does not name its own), the headline numbers of every eval.json entry that scored these weights: metric
    ``type`` the number's field (fid, precision, neg_elbo), ``config`` the feature network; none without such."""
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for key, entry in scores.items():
        metric, _, extractor = key.partition("@")
        if scored_weights(entry) != weights_sha256 or metric not in METRICS:
            continue
        recorded = entry["provenance"]  # it names the weights scored, so it is a dict
        where = (card_data(str(recorded.get("data") or data)), str(recorded.get("split") or "test"))
        network = extractor or (recorded.get("extractor") if METRICS[metric].features else None)
        results.setdefault(where, []).extend(index_metrics(metric, entry, network))
    found = [
        {"task": {"type": task}, "dataset": {"type": data, "name": data, "split": split}, "metrics": metrics}
        for (data, split), metrics in results.items()
        if metrics
    ]
    if not found:
        return []
    index = {"model-index": [{"name": name, "results": found}]}
    return yaml.safe_dump(index, sort_keys=False, allow_unicode=True, width=1000).splitlines()


def index_metrics(metric: str, entry: dict[str, Any], network: str | None) -> list[dict[str, Any]]:
    """The finite headline numbers of one eval.json entry as model-index metrics."""
    found = []
    for field in METRICS[metric].headline:
        value = entry.get(field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        label = field if field == metric else f"{metric} {field}"
        item = {"type": field, "value": value, "name": f"{label} ({network})" if network else label}
        found.append({**item, "config": network} if network else item)
    return found


def card_data(name: str) -> str:
    """A dataset as the model-index names it: its short name, both domains joined by '+'."""
    try:
        return "+".join(short_names(name))
    except GenlabError:  # a dataset spec no longer registered: its name as recorded
        return name

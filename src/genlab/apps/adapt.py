"""Domain adaptation by image translation (``genlab adapt``): one digit classifier trained several ways.

Every row trains the registered ``classifier`` through ``genlab.train`` with the same preset, overrides,
image size and channels (the target's channels: gray sources are expanded to RGB for an RGB target, RGB
sources become luma for a gray one) over the same seeds, and is tested on the target's test split:

1. source only -- the labelled source training images;
2. translated -- the source training images translated into the target's style by an image-to-image run
   (``translators``: a CycleGAN or UNIT, a SimGAN refiner, or SDEdit through a diffusion model of the target),
   with the source labels (pixel-level adaptation, as
   in CyCADA without its semantic loss); one row per translator, so several compare in one table;
3. train on target -- the labelled target training images (the upper bound).

Each translated set is written once as ``OUT/<row>.npz`` (``translated.npz``, then ``translated_2.npz``...;
``train``: the translated source training split, ``test``: the translated source test split), a dataset
``genlab train classifier --data npz:OUT/translated.npz`` reads like any other. Each classifier is a run
folder ``OUT/<row>_seed<N>``; ``OUT/adapt.json`` holds every accuracy with its seed, run folder and provenance.
"""

from __future__ import annotations

import json
import platform
import statistics
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from ..config import RunConfig
from ..data import ImageData, batches, canonical_name, domain_source, has_domains, load_dataset
from ..data.arrays import npz_dataset, save_arrays
from ..devices import pick_device
from ..errors import GenlabError
from ..evaluation import domain_names
from ..files import write_json_atomic
from ..models import get_model_class
from ..models.classifier import CLASSIFIER
from ..runs import load_config, load_run
from ..samplers import SDEditTranslator, translate_images
from ..training import prepare_config, train, validate
from ..version import __version__

ROWS = {"source_only": "source only", "translated": "translated", "target": "train on target"}
RESULTS = "adapt.json"


def labelled_domain(name: str, role: str, data_dir: str | None = None) -> tuple[str, ImageData]:
    """A domain's dataset name (a folder path becomes folder:PATH) and its test split, which must have classes."""
    if has_domains(name):
        raise GenlabError(f"the {role} {name} is two-domain data, labelled by domain, not by class; name one domain")
    name = domain_source(name)
    data = load_dataset(name, "test", data_dir=data_dir)
    if len(data.classes) < 2:
        raise GenlabError(
            f"the {role} {name} has no class labels (a folder needs one subfolder per class); "
            "adapt needs labelled digits"
        )
    return name, data


def translator_direction(run: str | Path, source: str, target: str) -> tuple[RunConfig, str]:
    """The translator run's config and the direction that maps ``source`` to ``target``, read from its
    ``unpaired:A,B`` data name: a2b when A is the source, b2a (a cyclegan's F) when A is the target."""
    config = load_config(run)
    if edits(config):
        return config, sdedit_direction(run, config, target)
    ways = get_model_class(config.model_name).directions  # cyclegan: a2b and b2a; a refiner: a2b
    if not ways:
        raise GenlabError(
            f"--translator {run} is a {config.model_name!r} run; it must be a cyclegan, unit or "
            f"refiner run trained on unpaired:{source},{target}, or a diffusion run trained on {target}"
        )
    a, b = (canonical_name(n) for n in domain_names(config))
    pair = (canonical_name(source), canonical_name(target))
    direction = "a2b" if pair == (a, b) else "b2a" if pair == (b, a) else ""
    if direction not in ways:
        can = " and ".join({"a2b": f"{a} -> {b}", "b2a": f"{b} -> {a}"}[w] for w in ways)
        raise GenlabError(
            f"--translator {run} translates {can} (data {config.data.name}), not {source} -> "
            f"{target}; train one with --data unpaired:{source},{target}"
        )
    return config, direction


def edits(config: RunConfig) -> bool:
    """Whether a run's model translates by SDEdit (Meng et al. 2022): a diffusion model of the target domain."""
    return callable(getattr(get_model_class(config.model_name), "edit", None))


def sdedit_direction(run: str | Path, config: RunConfig, target: str) -> str:
    """SDEdit maps anything into the data the model learnt: that must be the target (one way, a2b)."""
    if canonical_name(config.data.name) != canonical_name(target):
        raise GenlabError(
            f"--translator {run} is a diffusion model of {config.data.name}; SDEdit translates into the data "
            f"a model learnt, so it needs one trained on the target {target}"
        )
    return "a2b"


def translator_model(run: str | Path, dev: torch.device, strength: float) -> Any:
    """A translator run's model, a diffusion model wrapped as its SDEdit translator at ``strength``."""
    model = load_run(run, dev)[0]
    return SDEditTranslator(model, strength) if model.supports("edit") else model


def write_translated(
    model: Any,
    direction: str,
    source: str,
    path: Path,
    *,
    data_dir: str | None = None,
    limit: int | None = None,
    batch_size: int = 256,
) -> dict[str, int]:
    """Translate the source's train (first ``limit``) and test splits at the translator's size and channels
    into one .npz (labels kept); returns the image counts."""
    c = model.config
    splits = {}
    for split in ("train", "test"):
        data = load_dataset(source, split, data_dir=data_dir, image_size=c.image_size, channels=c.channels)
        data = data.head(limit) if split == "train" else data
        splits[split] = replace(data, images=translate_images(model, data.images, direction, batch_size))
    save_arrays(path, splits, splits["train"].classes)
    return {f"{split}_images": len(data) for split, data in splits.items()}


@torch.no_grad()
def accuracy(model: Any, data: ImageData, batch_size: int = 1000) -> float:
    """Top-1 accuracy of a classifier on labelled images."""
    model.eval()
    correct = 0
    for x, y in batches(data, batch_size):
        correct += int((model.logits(x.to(model.device)).argmax(1).cpu() == y.cpu()).sum())
    return correct / len(data)


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise GenlabError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise GenlabError(f"{out} already exists and is not empty; pass --force to train over it")


def _summary(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1; 0 for one seed)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def translated_row(index: int) -> str:
    """Row key of the index-th translator: translated, translated_2, translated_3, ..."""
    return "translated" if index == 0 else f"translated_{index + 1}"


def classifier_size(runs: Sequence[RunConfig], image_size: int, target_test: ImageData) -> int:
    """The classifier's input size: --image-size, else the translators' (one size for all), else the target's."""
    sizes = {c.model.image_size for c in runs}
    if image_size or not sizes:
        return image_size or target_test.image_size
    if len(sizes) > 1:
        raise GenlabError(f"the translators work at different sizes {sorted(sizes)}; pass --image-size")
    return sizes.pop()


def prepare_translations(
    translators: Sequence[str | Path],
    configs: Sequence[RunConfig],
    directions: Sequence[str],
    source: str,
    out: Path,
    dev: torch.device,
    *,
    data_dir: str | None,
    limit: int | None,
    echo: Callable[[str], None],
    strength: float = 0.5,
) -> dict[str, dict[str, Any]]:
    """Translate the source once per translator into OUT/<row>.npz; {row: provenance with the dataset name}."""
    done = {}
    for i, (run, config, direction) in enumerate(zip(translators, configs, directions)):
        row = translated_row(i)
        path = out.resolve() / f"{row}.npz"  # absolute: the runs' config.json name their data by it
        echo(f"translating {source} ({direction}) with {run} into {path}")
        model = translator_model(run, dev, strength)
        counts = write_translated(model, direction, source, path, data_dir=data_dir, limit=limit)
        del model
        done[row] = {
            "run": str(Path(run).resolve()),
            "model": config.model_name,
            **({"strength": strength} if edits(config) else {}),
            "data": config.data.name,
            "direction": direction,
            "seed": config.train.seed,
            "recipe": recipe(config),
            "dataset": npz_dataset(path),
            **counts,
        }
    return done


def recipe(config: RunConfig) -> str:
    """A translator run's config but its seed, device and version: runs of one recipe are translator seeds."""
    d = config.to_dict()
    d.pop("genlab_version", None)
    d["train"] = {k: v for k, v in d["train"].items() if k not in ("seed", "device")}
    return json.dumps(d, sort_keys=True, default=str)


def translator_groups(translated: dict[str, dict[str, Any]], rows: dict[str, dict[str, Any]]) -> list[dict]:
    """The translated rows grouped by recipe: each translator's mean over its classifier seeds, and their mean,
    sample std and lowest over the translator seeds (the spread that says whether a recipe holds)."""
    groups: dict[str, dict[str, Any]] = {}
    for row, t in translated.items():
        group = groups.setdefault(
            t["recipe"],
            {
                "model": t["model"],
                "direction": t["direction"],
                "rows": [],
                "translator_seeds": [],
                "translator_means": [],
            },
        )
        group["rows"].append(row)
        group["translator_seeds"].append(t["seed"])
        group["translator_means"].append(rows[row]["mean"])
    for group in groups.values():
        group["mean"], group["std"] = _summary(group["translator_means"])
        group["min"] = min(group["translator_means"])
    return list(groups.values())


def train_row(
    row: str,
    data_name: str,
    seeds: Sequence[int],
    target: str,
    preset: str | None,
    overrides: Sequence[str],
    size: int,
    channels: int,
    out: Path,
    dev: torch.device,
    *,
    data_dir: str | None,
    force: bool,
    echo: Callable[[str], None],
) -> dict[str, Any]:
    """One row: a classifier per seed trained on ``data_name`` (run folder OUT/<row>_seed<N>), each tested on
    the target's test split; accuracies with their mean and sample std."""
    label = ROWS.get(row, ROWS["translated"])
    entry: dict[str, Any] = {"label": label, "data": data_name, "accuracy": [], "runs": [], "seeds": list(seeds)}
    for seed in seeds:
        run_dir = out / f"{row}_seed{seed}"
        echo(f"{label}: training the classifier on {data_name}, seed {seed} -> {run_dir}")
        config = train(
            CLASSIFIER,
            data=data_name,
            preset=preset,
            overrides=[*overrides, f"train.seed={seed}"],
            out=run_dir,
            force=force,
            data_dir=data_dir,
            echo=echo,
        )
        test = load_dataset(
            target,
            "test",
            data_dir=data_dir,
            image_size=size,
            channels=channels,
            seed=seed,
            test_fraction=config.data.test_fraction,
        )  # folders: the split that run held out
        entry["accuracy"].append(accuracy(load_run(run_dir, dev)[0], test))
        entry["runs"].append(str(run_dir.resolve()))
        entry["test_images"] = len(test)
    entry["mean"], entry["std"] = _summary(entry["accuracy"])
    return entry


def adapt(
    source: str = "mnist",
    target: str = "mnistm",
    *,
    translators: str | Path | Sequence[str | Path] = (),
    seeds: int | Sequence[int] = 3,
    preset: str | None = "adapt",
    overrides: Sequence[str] = (),
    out: str | Path = "runs/adapt",
    image_size: int = 0,
    limit: int | None = None,
    data_dir: str | None = None,
    device: str = "auto",
    force: bool = False,
    strength: float = 0.5,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train and test the classifiers (see the module docstring); writes OUT/adapt.json and returns it.

    ``translators``: cyclegan, unit or refiner runs, or diffusion runs of the target (SDEdit at ``strength``),
    one translated row each; ``seeds``: a count (0..N-1) or the seeds; ``image_size``: 0 = the translators' size
    (else the target's); ``limit``: train on the first N training images of each row (quick runs)."""
    translators = [translators] if isinstance(translators, (str, Path)) else list(translators)
    out, seed_list = Path(out), list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    _check_options(out, seed_list, limit, force)
    if not 0 < strength <= 1:
        raise GenlabError(f"--strength must be in (0, 1], got {strength}")
    dev = pick_device(device)
    source, target, target_test = labelled_pair(source, target, data_dir)
    configs, directions = (
        zip(*(translator_direction(t, source, target) for t in translators)) if translators else ((), ())
    )
    size, channels = classifier_size(configs, image_size, target_test), target_test.channels
    common = [f"model.image_size={size}", f"model.channels={channels}", f"train.device={device}", *overrides]
    common += [f"data.limit={limit}"] if limit else []
    validate(prepare_config(CLASSIFIER, source, preset, common, data_dir))  # bad --set fails before any work

    out.mkdir(parents=True, exist_ok=True)
    translated = prepare_translations(
        translators, configs, directions, source, out, dev, data_dir=data_dir, limit=limit, echo=echo, strength=strength
    )
    rows = {"source_only": source, **{row: t["dataset"] for row, t in translated.items()}, "target": target}
    shared = dict(data_dir=data_dir, force=force, echo=echo)
    results = {
        row: train_row(row, data_name, seed_list, target, preset, common, size, channels, out, dev, **shared)
        for row, data_name in rows.items()
    }
    classifier = dict(model=CLASSIFIER, preset=preset, overrides=list(overrides), image_size=size, channels=channels)
    report = {**provenance(dev), "source": source, "target": target, "test": f"{target}:test"}
    report.update(
        test_images=results["target"]["test_images"], seeds=seed_list, classifier={**classifier, "limit": limit}
    )
    report.update(translators=translated, rows=results, translator_groups=translator_groups(translated, results))
    write_json_atomic(out / RESULTS, report)
    return report


def provenance(device: torch.device) -> dict[str, str]:
    """Where adapt.json was made: genlab and torch versions, host and device."""
    return {"genlab": __version__, "torch": torch.__version__, "host": platform.node(), "device": str(device)}


def _check_options(out: Path, seeds: list[int], limit: int | None, force: bool) -> None:
    if not seeds:
        raise GenlabError("--seeds must be at least 1")
    if limit is not None and limit < 1:
        raise GenlabError("--limit must be at least 1")
    _check_out(out, force)


def labelled_pair(source: str, target: str, data_dir: str | None) -> tuple[str, str, ImageData]:
    """Both domains' dataset names and the target's test split; they must share their classes."""
    source, source_test = labelled_domain(source, "source", data_dir)
    target, target_test = labelled_domain(target, "target", data_dir)
    if source_test.classes != target_test.classes:
        raise GenlabError(
            f"the source {source} has classes {source_test.classes} and the target {target} "
            f"{target_test.classes}; the classifier needs the same classes on both"
        )
    return source, target, target_test

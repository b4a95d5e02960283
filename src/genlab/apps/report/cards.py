"""Model cards: a ``README.md`` in the Hugging Face Hub's model-card format, with ``samples.png``, in every
checkpoint folder and every folder ``model.save_pretrained`` writes.

A card says what the weights are (model, data, training, sha256), shows the scores ``eval.json`` holds for
these weights with their provenance (scores of other weights are named, never shown as current), a picture drawn
from the weights and the Python lines that load and use them; its front matter (card_meta.py) carries the same
scores machine-readable, as the Hub's ``model-index``. genlab.runs keeps the card out of checksums.json
and carries it into every new checkpoint. The core never writes a card: ``genlab train`` (and ``genlab.train``)
hand training the ModelCard callback, which rewrites it after each epoch's checkpoint, and ``genlab eval`` rewrites
it after it writes eval.json (``evaluate_with_card``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ...data import ImageData, batches, load_split, point_centers
from ...errors import GenlabError
from ...evaluation import METRICS, evaluate, scored_weights
from ...files import atomic_path
from ...models.capabilities import Model
from ...pretrained import read_scores, scores_file
from ...runs import (
    CARD,
    CARD_PICTURE,
    CHECKPOINT,
    CONFIG,
    EVAL,
    STATE,
    WEIGHTS,
    checkpoint_dir,
    has_checkpoint,
    load_config,
    load_run,
    weights_identity,
    weights_metadata,
)
from ...samplers import class_grid, sample_images
from ...training import Callback, Trainer
from ...version import __version__
from ...viz import save_grid, save_scatter
from .card_meta import dataset_names, front_matter

PLACEHOLDER = "path/to/this/folder"  # the folder in the card's Python lines: wherever the card's reader put it
GRID = 8  # the sample grid is GRID x GRID (a conditional model: one row of GRID per class)
SCATTER_POINTS = 2000  # samples in the scatter plot of a model of 2-D points
TRANSLATED = 16  # test images the picture of an image-to-image model translates
SEED = 0


def write_model_card(run: str | Path, model: Any = None, data: ImageData | None = None) -> Path:
    """Write the model card (README.md and samples.png) of a run's checkpoint (or of a checkpoint folder):
    ``model`` holds its weights (loaded from the folder when None); ``data``: test images for the picture of
    an image-to-image model (loaded when None; an earlier picture stays when they cannot be)."""
    folder = checkpoint_dir(run)
    config = load_config(folder)
    model = model if model is not None else load_run(folder)[0]
    caption = draw_picture(model, config, folder / CARD_PICTURE, data)
    identity = {**weights_identity(folder), "genlab": weights_metadata(folder / WEIGHTS).get("genlab")}
    identity["checkpoint"] = (folder / STATE).is_file()  # a training checkpoint, not a save_pretrained folder
    scores, name = read_scores(scores_file(Path(run), folder)), card_name(Path(run), folder)
    sections = [
        front_matter(model, config, name, scores, identity["weights_sha256"]),
        summary(config, identity),
        picture_section(caption),
        scores_section(scores, identity["weights_sha256"]),
        usage_section(model, config),
    ]
    with atomic_path(folder / CARD) as tmp:
        tmp.write_text("\n".join(line for section in sections for line in section), encoding="utf-8")
    return folder / CARD


def card_name(run: Path, folder: Path) -> str:
    """The model's name in the card's model-index: its run folder's (a checkpoint folder is named for its run),
    or the name of the folder it was copied or saved into."""
    named = folder.parent if run == folder and folder.name == CHECKPOINT else Path(run)
    return named.resolve().name


class ModelCard(Callback):
    """The checkpoint's model card, rewritten for the weights each epoch's checkpoint has just saved (the app
    layer hands it to ``genlab.training.train`` as an extra callback)."""

    def __init__(self) -> None:
        self.step_described: int | None = None  # the step of the weights the card was last written for

    def on_epoch_logged(self, trainer: Trainer, record: dict[str, Any]) -> None:
        self._write(trainer, trainer.model)

    def on_fit_end(self, trainer: Trainer) -> None:
        """A run that stopped inside an epoch (max_steps, a signal, a roll-back) gets the card of the checkpoint
        on disk, read back from it."""
        if self.step_described != trainer.state.step and has_checkpoint(trainer.run_dir):
            self._write(trainer, None)

    def _write(self, trainer: Trainer, model: Any) -> None:
        """A card that cannot be written is a warning, never the end of a run."""
        try:
            write_model_card(trainer.run_dir, model, trainer.test_data)
            self.step_described = trainer.state.step
        except (OSError, GenlabError) as e:
            trainer.echo(f"warning: the model card of {trainer.run_dir} was not written ({e})")


def evaluate_with_card(run: str | Path, metrics: list[str] | None = None, **options: Any) -> dict[str, Any]:
    """``genlab.evaluation.evaluate``, then the checkpoint's card rewritten to show the new numbers (unless
    ``write=False`` kept them out of eval.json)."""
    results = evaluate(run, metrics, **options)
    if options.get("write", True):
        write_model_card(run)
    return results


# -- the picture ---------------------------------------------------------------------------------------------


@torch.no_grad()
def draw_picture(model: Model, config: Any, path: Path, data: ImageData | None) -> str | None:
    """Draw the card's picture into ``path`` with the model in eval mode (its mode is restored), from seeded CPU
    generators only; its caption, or None when the card has no picture."""
    was_training = model.training
    model.eval()
    try:
        if model.supports("sample"):
            return draw_samples(model, config, path)
        if model.supports("pictures"):
            return draw_translations(model, config, path, data)
        return None
    finally:
        model.train(was_training)


def draw_samples(model: Model, config: Any, path: Path) -> str:
    """A scatter plot of 2-D points, a class grid of a conditional model, else a GRID x GRID sample grid."""
    if is_points(config):
        save_scatter(sample_images(model, SCATTER_POINTS, seed=SEED), path, point_centers(config.data.name))
        return f"{SCATTER_POINTS} samples of these weights (seed {SEED}); crosses: the modes of the data, if known"
    if getattr(model, "num_classes", 0):
        save_grid(class_grid(model, GRID, seed=SEED), path, nrow=GRID, scale=picture_scale(config))
        return f"Row c holds {GRID} samples of class c (seed {SEED}), drawn from these weights"
    save_grid(sample_images(model, GRID * GRID, seed=SEED), path, nrow=GRID, scale=picture_scale(config))
    return f"{GRID * GRID} samples of these weights (seed {SEED})"


def draw_translations(model: Model, config: Any, path: Path, data: ImageData | None) -> str | None:
    """The model's own pictures of test images (translations and, both ways, back) in one grid."""
    data = data if data is not None else test_split(config)
    if data is None or not len(data):
        return "A picture drawn by an earlier card (the test images were not at hand)" if path.is_file() else None
    x, labels = next(batches(data.head(TRANSLATED), TRANSLATED))
    grids = list(model.pictures(x.to(model.device), labels.to(model.device)).items())
    if not grids:
        return None
    shown = [(title, grid) for title, grid in grids if grid.shape[1:] == grids[0][1].shape[1:]]
    rows = torch.cat([grid for _, grid in shown])
    save_grid(rows.flatten(0, 1), path, nrow=rows.shape[1], scale=picture_scale(config))
    return (
        f"{' then '.join(title for title, _ in shown)}: each row a test image, what these weights make of "
        "it and, for a model that translates both ways, that translated back"
    )


def test_split(config: Any) -> ImageData | None:
    """The run's test images, or None where its data is not at hand (a copied checkpoint folder)."""
    try:
        return load_split(config, "test", for_eval=True)
    except (GenlabError, OSError):
        return None


def is_points(config: Any) -> bool:
    """A model of 2-D points (toy data) rather than images."""
    return not getattr(config.model, "image_size", 0)


def picture_scale(config: Any) -> int:
    """Small images (digits) are drawn twice their size."""
    return 2 if getattr(config.model, "image_size", 0) < 48 else 1


# -- the text ------------------------------------------------------------------------------------------------


def summary(config: Any, identity: dict[str, Any]) -> list[str]:
    """Title, then the model and its training in a few lines."""
    t, data = config.train, ", ".join(dataset_names(config))
    trained = ", ".join(f"{k} {identity[k]}" for k in ("epoch", "step") if identity[k] is not None) or "an unknown step"
    limit = f", first {config.data.limit} training images" if config.data.limit else ""
    later = (
        "; a checkpoint saved since (mid-epoch) keeps this card until the next one" if identity["checkpoint"] else ""
    )
    return [
        f"# {config.model_name} trained on {data}",
        "",
        f"A `{config.model_name}` model trained with genlab: `{WEIGHTS}` holds its weights, `{CONFIG}` its "
        "config; `genlab.load` reads them without the dataset.",
        "",
        "## Model and training",
        "",
        f"- model: `{config.model_name}`, {model_details(config)}",
        f"- data: `{config.data.name}` (binarize {config.data.binarize}{limit})",
        f"- training: {plural(t.epochs, 'epoch')}{max_steps(t)}, batch size {t.batch_size}, lr {t.lr:g} "
        f"({t.lr_schedule}), seed {t.seed}",
        f"- weights: sha256 `{identity['weights_sha256']}`, saved at {trained} by genlab "
        f"{identity['genlab'] or 'of an unknown version'} (card by genlab {__version__}){later}",
        f"- license: the weights inherit the terms of their training data ({data}); `license: other` "
        "until you name one",
        "",
    ]


def model_details(config: Any) -> str:
    """The model's sizes in words: architecture, objective, latent size, data shape, classes."""
    c, details = (
        config.model,
        [f"{field} {getattr(config.model, field)}" for field in ("arch", "objective") if hasattr(config.model, field)],
    )
    if getattr(c, "latent_dim", 0):
        details.append(f"latent size {c.latent_dim}")
    if is_points(config):
        details.append(f"{getattr(c, 'channels', 2)}-D points")
    else:
        details.append(f"images {c.image_size}x{c.image_size} with {plural(c.channels, 'channel')}")
    if getattr(c, "num_classes", 0):
        details.append(f"{'conditional on ' if getattr(c, 'conditional', False) else ''}{c.num_classes} classes")
    return ", ".join(details)


def plural(n: int, word: str) -> str:
    """'1 epoch', '2 epochs'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def max_steps(train: Any) -> str:
    """The step limit of a run's training, in words (none: nothing)."""
    return f" (at most {train.max_steps} steps)" if train.max_steps else ""


def picture_section(caption: str | None) -> list[str]:
    """The picture with its caption (nothing for a model without one)."""
    if caption is None:
        return []
    return ["## Samples", "", f"![samples]({CARD_PICTURE})", "", f"{caption}.", ""]


# -- the scores ----------------------------------------------------------------------------------------------


def scores_section(scores: dict[str, dict], weights_sha256: str) -> list[str]:
    """The eval table of the scores of these weights, with their provenance; the others named as stale."""
    shown = [key for key, entry in scores.items() if scored_weights(entry) == weights_sha256 and score_rows(key, entry)]
    current = {key: scores[key] for key in sorted(shown, key=metric_order)}
    left_out = [key for key in scores if key not in current]
    lines = ["## Scores", ""]
    if current:
        lines += [
            f"Scores of these weights from `{EVAL}` (`genlab eval`):",
            "",
            "| metric | value | scored on |",
            "| --- | --- | --- |",
            *(row for key, entry in current.items() for row in score_rows(key, entry)),
            "",
            *notes(current),
        ]
    else:
        lines += ["No scores of these weights yet: `genlab eval RUN` adds them.", ""]
    if left_out:
        lines += [f"Left out as stale (they scored other weights, or weights not recorded): {', '.join(left_out)}.", ""]
    return lines


def metric_order(key: str) -> int:
    """Where an eval.json key's metric stands among the metric records (the order of genlab eval's table)."""
    return list(METRICS).index(key.partition("@")[0])


def score_rows(key: str, entry: dict[str, Any]) -> list[str]:
    """The table rows of one eval.json entry (``name`` or ``name@extractor``); none for an unknown metric or a
    damaged entry."""
    name, _, extractor = key.partition("@")
    try:
        rows = METRICS[name].rows(entry) if name in METRICS else []
    except (KeyError, TypeError, ValueError):
        return []
    suffix = f" ({extractor})" if extractor else ""
    return [
        f"| {cell(label.strip() + suffix)} | {cell(value)} | {cell(provenance(entry) if i == 0 else '')} |"
        for i, (label, value) in enumerate(rows)
    ]


def provenance(entry: dict[str, Any]) -> str:
    """What a score was computed on, in a few words."""
    said = {
        "images": "{} images",
        "split": "{} split",
        "extractor": "features of {}",
        "seed": "seed {}",
        "device": "on {}",
        "genlab": "genlab {}",
    }
    recorded = entry.get("provenance") if isinstance(entry.get("provenance"), dict) else {}
    return ", ".join(form.format(recorded[k]) for k, form in said.items() if recorded.get(k) is not None)


def notes(current: dict[str, dict]) -> list[str]:
    """The lines genlab eval prints under its table (what was scored), once per group of metrics."""
    firsts: dict[str, str] = {}
    for key, entry in current.items():
        metric = METRICS[key.partition("@")[0]]
        if metric.note is not None and metric.note_group not in firsts:
            firsts[metric.note_group] = metric.note(entry)
    return [line for note in firsts.values() for line in (note, "")]


def cell(text: str) -> str:
    """Text for a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


# -- the Python lines ----------------------------------------------------------------------------------------


def usage_section(model: Model, config: Any) -> list[str]:
    """The Python lines that load this folder and use the model."""
    load = f'model = genlab.load("{PLACEHOLDER}")  # this folder, wherever it was copied'
    imports, use = usage(model, config)
    return ["## Use", "", "```python", *imports, "", load, *use, "```", ""]


def usage(model: Model, config: Any) -> tuple[list[str], list[str]]:
    """The imports and the lines after loading: sample, translate or classify."""
    c = config.model
    images = (
        f"images = torch.rand(4, {getattr(c, 'channels', 1)}, {c.image_size}, {c.image_size})"
        if not is_points(config)
        else ""
    )
    if model.supports("translate"):
        direction = model.directions[0]
        return ["import torch", "import genlab"], [
            f"{images}  # your images of domain {direction[0].upper()}: [N, C, H, W] in [0, 1]",
            f'translated = model.translate(images, "{direction}")  # [N, C, H, W] in [0, 1]',
        ]
    if not model.supports("sample"):
        return ["import torch", "import genlab"], [
            f"{images}  # your images: [N, C, H, W] in [0, 1]",
            "classes = model.logits(images).argmax(1)",
        ]
    imports = ["import genlab", "from genlab.samplers import sample_images"]
    if is_points(config):
        return imports, ["points = sample_images(model, 1000, seed=0)  # [1000, 2]; another seed, other points"]
    if getattr(model, "num_classes", 0):
        return imports, ["images = sample_images(model, 16, seed=0, label=3)  # [16, C, H, W] in [0, 1], class 3"]
    return imports, ["images = sample_images(model, 16, seed=0)  # [16, C, H, W] in [0, 1]"]

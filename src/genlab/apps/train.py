"""Training as the applications start it (``genlab train`` and ``genlab.train``): the runs a new run builds on that
the user asked to have made first, then genlab.training.train. CyCADA (Hoffman et al. 2018) names a classifier of
domain A for its semantic-consistency term; ``model.semantic_classifier=auto`` trains one into
RUN/semantic_classifier first and names it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..data import domain_names, has_domains
from ..distributed import from_environment
from ..errors import GenlabError
from ..models.classifier import CLASSIFIER
from ..runs import has_checkpoint
from ..training import check_out_dir, prepare_config
from ..training import train as train_run

AUTO, SEMANTIC_DIR = "auto", "semantic_classifier"  # model.semantic_classifier=auto trains one into RUN/SEMANTIC_DIR


def train(
    model_name: str | None = None,
    *,
    data: str | None = None,
    preset: str | None = None,
    overrides: Sequence[str] = (),
    out: str | Path = "runs/run",
    resume: bool = False,
    force: bool = False,
    dry_run: bool = False,
    data_dir: str | None = None,
    echo: Callable[[str], None] = print,
    **options: Any,
) -> RunConfig:
    """genlab.training.train (same arguments), after training what a new run asks for first: with
    model.semantic_classifier=auto, a classifier of domain A into OUT/semantic_classifier, then named instead."""
    if model_name is not None and not (resume or dry_run):
        config = prepare_config(model_name, data or "mnist", preset, overrides, data_dir)
        if getattr(config.model, "semantic_classifier", "") == AUTO:
            check_out_dir(Path(out), force, echo, keep=(SEMANTIC_DIR,))  # before the classifier is written
            classifier = train_semantic_classifier(config, Path(out) / SEMANTIC_DIR, echo)
            overrides, force = [*overrides, f"model.semantic_classifier={classifier}"], True
    return train_run(
        model_name,
        data=data,
        preset=preset,
        overrides=overrides,
        out=out,
        resume=resume,
        force=force,
        dry_run=dry_run,
        data_dir=data_dir,
        echo=echo,
        **options,
    )


def train_semantic_classifier(config: RunConfig, out: Path, echo: Callable[[str], None]) -> Path:
    """A classifier of domain A (preset adapt, the translator's batch size, seed and data.limit) trained into
    ``out`` (one already there is resumed, or reused when finished); returns ``out``."""
    if not has_domains(config.data.name):
        raise GenlabError("model.semantic_classifier=auto trains a classifier on domain A of unpaired:A,B data")
    if from_environment().active:
        raise GenlabError(
            "model.semantic_classifier=auto cannot train under torchrun; train the classifier first "
            "(genlab train classifier --data A) and name its run folder"
        )
    source = domain_names(config.data.name)[0]
    echo(f"model.semantic_classifier=auto: a classifier of {source} in {out}")
    if has_checkpoint(out):
        train_run(out=out, resume=True, echo=echo)
    else:
        sizes = [f"train.batch_size={config.train.batch_size}", f"train.seed={config.train.seed}"] + (
            [f"data.limit={config.data.limit}"] if config.data.limit else []
        )
        train_run(
            CLASSIFIER,
            data=source,
            preset="adapt",
            overrides=sizes,
            out=out,
            force=True,
            data_dir=config.data.data_dir,
            echo=echo,
        )
    return out

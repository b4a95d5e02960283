"""The model contract shared by every genlab model: a config, phases, ``loss(batch, phase)``, one optimizer per
phase, and optional abilities (sample, encode, decode, translate, log_weights) that ``supports()`` reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ..errors import GenlabError
from ..optim import adam
from ..registry import HOOKS


def contract_only(method: Callable) -> Callable:
    """Mark a base-class method that only documents the contract: supports() counts it as missing."""
    method.contract_only = True  # type: ignore[attr-defined]
    return method


class GenerativeModel(nn.Module):
    """A network plus its objective: the generic loop calls ``loss(batch, phase)`` for each phase."""

    name: ClassVar[str] = ""
    Config: ClassVar[type]
    presets: ClassVar[dict[str, list[str]]] = {}
    train_defaults: ClassVar[list[str]] = []  # overrides applied before any preset (e.g. the paper's optimizer)
    phases: ClassVar[tuple[str, ...]] = ("main",)
    directions: ClassVar[tuple[str, ...]] = ()  # what translate() accepts: "a2b" and/or "b2a" (translators only)
    # runs this model builds on: config field naming the run -> the model names it may be; genlab.runs embeds
    # that run's config as <field>_config and, for a fresh run, loads its weights into the submodule <field>
    pretrained: ClassVar[dict[str, tuple[str, ...]]] = {}
    optional_pretrained: ClassVar[tuple[str, ...]] = ()  # fields of ``pretrained`` that may stay empty

    def __init__(self, config: Any):
        super().__init__()
        self.config = config
        self.step = 0  # optimizer steps taken so far; set by the training loop (warm-ups, schedules)
        self.step_phases: tuple[str, ...] = self.phases  # the phases one training step runs, in order

    def after_phase(self, phase: str, applied: Tensor | None = None) -> None:
        """Called after each phase's optimizer step (weight clipping, EMA updates); ``applied`` is a 0-d tensor
        on the device, 0 when the loop skipped the update because a loss was not finite (None: applied)."""

    def resume_state(self) -> dict[str, Tensor]:
        """Training state that is not weights (e.g. a history pool); saved in train_state.pt for resume."""
        return {}

    def load_resume_state(self, state: dict[str, Tensor]) -> None:
        """Restore what ``resume_state()`` returned when a run resumes."""

    def diagnose(self, samples: Tensor, real: Tensor) -> list[str]:
        """Warnings from a look at this epoch's samples next to real data (e.g. mode collapse)."""
        return []

    def epoch_warnings(self, record: dict[str, Any]) -> list[str]:
        """Warnings from an epoch's logged means (e.g. a discriminator that always wins)."""
        return []

    def compile_targets(self) -> list[str]:
        """Submodules that ``train.compile=true`` may compile: every child with trainable parameters (frozen
        parts and EMA copies only run without gradients). Models whose losses differentiate through a network
        twice (gradient penalties) leave that network out."""
        return [name for name, child in self.named_children() if any(p.requires_grad for p in child.parameters())]

    @classmethod
    def resolve_config(cls, config: Any, data: Any, dataset: Any) -> None:
        """Fill 'auto' / 0 fields of model and data config from the dataset (in place)."""

    @staticmethod
    def resolve_classes(config: Any, dataset: Any) -> None:
        """Class-conditional models take their number of classes from the data."""
        if getattr(config, "conditional", False) and not config.num_classes:
            if len(dataset.classes) < 2:
                raise GenlabError("model.conditional=true needs labelled data with at least two classes")
            config.num_classes = len(dataset.classes)

    @property
    def latent_dim(self) -> int | None:
        """Numbers in one code that ``decode`` takes; None for a model without a latent space."""
        return getattr(self.config, "latent_dim", None)

    @property
    def num_classes(self) -> int:
        """Classes of a class-conditional model; 0 when unconditional."""
        return self.config.num_classes if getattr(self.config, "conditional", False) else 0

    def condition_labels(self, labels: Tensor | None, n: int) -> Tensor | None:
        """Labels a conditional network sees: as given, or cycling through the classes; None if unconditional."""
        if not self.num_classes:
            return None
        if labels is None:
            return torch.arange(n, device=self.device) % self.num_classes
        return labels.to(self.device)

    def loss(self, batch: tuple[Tensor, Tensor], phase: str) -> dict[str, Tensor]:
        """Scalars for one phase; ``"loss"`` is minimized, the rest are logged."""
        raise NotImplementedError

    def prepare(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Map images from the data pipeline ([0, 1] floats) to what the model is trained on."""
        return x

    def optimizers(self, train: Any) -> dict[str, torch.optim.Optimizer]:
        """One optimizer per phase (default: Adam over all parameters for the single phase)."""
        opt = adam(self.parameters(), train.lr, train.betas)
        return {phase: opt for phase in self.phases}

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n latent codes from N(0, I), drawn on the CPU generator and moved to the model's device."""
        return torch.randn(n, self.config.latent_dim, generator=generator).to(self.device)

    @contract_only
    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n images in [0, 1], shape [n, C, H, W] (models that cannot sample, like classifiers, omit it)."""
        raise NotImplementedError

    @contract_only
    @torch.no_grad()
    def translate(self, images: Tensor, direction: str = "a2b") -> Tensor:
        """Images in [0, 1] of one domain -> the other domain (image-to-image models only)."""
        raise NotImplementedError

    @contract_only
    @torch.no_grad()
    def pictures(self, images: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """Named grids [rows, cols, C, H, W] in [0, 1] drawn from test images, saved by the loop each epoch."""
        raise NotImplementedError

    def supports(self, method: str) -> bool:
        """Whether this model implements an optional method (sample, encode, decode, log_weights, ...)."""
        impl = getattr(self, method, None)
        return callable(impl) and not getattr(impl, "contract_only", False)

    def require(self, method: str, purpose: str) -> None:
        """Raise a clear user error when an optional capability is missing."""
        if not self.supports(method):
            raise GenlabError(f"model {self.name!r} cannot {purpose} (it has no {method}())")

    def save_pretrained(self, folder: str | Path, *, force: bool = False) -> Path:
        """Write this model as a self-contained folder in the Hugging Face Hub's layout: config.json (its run
        config), model.safetensors, checksums.json, eval.json (the scores of these weights) and the model card
        (README.md with a ``model-index``, samples.png); ``genlab.from_pretrained(folder)`` loads it back. Returns
        the folder; ``force`` writes into a non-empty folder that is not one save_pretrained wrote.

        The folder needs the run config, checksums and the model card, which live in layers above this one (the
        models layer imports no runs and no apps), so this method only calls the writer the ``genlab`` package
        lends it: ``genlab.save_pretrained``, registered in ``genlab.registry.HOOKS`` when genlab is imported."""
        return HOOKS.get("save_pretrained")(self, folder, force=force)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

"""CyCADA's semantic consistency (Hoffman et al. 2018, Eq. 4) for the image-to-image models: a frozen classifier
must read a translation as the class it reads in the source image, so translating cannot change a digit's class."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...errors import GenlabError
from ..classifier import CLASSIFIER, fit_input
from ..registry import build_model, run_config
from .base import TERMS, Term, Translation

# config field naming the classifier -> the direction whose source images and translations it reads
SEMANTIC_FIELDS = {"semantic_classifier": "a2b", "semantic_classifier_b": "b2a"}
# CyCADA's term on digit pairs, both ways: digits-v2 reads MNIST, synthdigits (98%) and mnistm (74%)
SEMANTIC_DIGITS = [
    "model.semantic_weight=1",
    "model.semantic_classifier=digits-v2",
    "model.semantic_classifier_b=digits-v2",
]


@dataclass
class SemanticConfig:
    """The semantic-consistency options (all off by default)."""

    semantic_weight: float = 0.0  # weight of the consistency cross-entropy (CyCADA: 1); 0 = off
    semantic_classifier: str = ""  # classifier of domain A: shipped digit network (digits-v2), classifier run, auto
    semantic_classifier_config: dict = field(default_factory=dict)  # its config, copied so checkpoints stand alone
    semantic_classifier_b: str = ""  # optional classifier of domain B, for the b2a translations
    semantic_classifier_b_config: dict = field(default_factory=dict)  # its config, copied likewise


def frozen_classifier(config_dict: dict) -> nn.Module | None:
    """The classifier a run config dict describes, frozen and in eval mode (None without one); genlab.runs loads
    its weights into it."""
    if not config_dict:
        return None
    config = run_config(config_dict)
    if config.model_name != CLASSIFIER:
        raise GenlabError(f"a semantic classifier must be a {CLASSIFIER} run, not a {config.model_name!r} run")
    return build_model(CLASSIFIER, config.model).requires_grad_(False).eval()


def classifier_input(x: Tensor, classifier: nn.Module) -> Tensor:
    """Translator images in [-1, 1] -> what the classifier reads: [0, 1], its channels (luma or copies), its size."""
    return fit_input((x.float() + 1) / 2, classifier.config)


def consistency(classifier: nn.Module, source: Tensor, translated: Tensor) -> Tensor:
    """CE(f(G(x)), argmax f(x)) (Hoffman et al. 2018, Eq. 4); the gradient reaches G only, never f."""
    with torch.no_grad():
        target = classifier.logits(classifier_input(source, classifier)).argmax(1)
    return F.cross_entropy(classifier.logits(classifier_input(translated, classifier)).float(), target)


@TERMS.register("semantic")
class SemanticConsistency(Term):
    """semantic_weight * the consistency of each direction whose source domain has a classifier (logged as
    "semantic"); the frozen classifiers are its state, submodules named as their config fields."""

    Config = SemanticConfig
    pretrained = {name: (CLASSIFIER,) for name in SEMANTIC_FIELDS}  # genlab.runs embeds and loads them
    renamed_from = {f"{name}.": f"{name}." for name in SEMANTIC_FIELDS}  # they sat in the translator itself

    def __init__(self, config: Any):
        super().__init__(config)
        for name in SEMANTIC_FIELDS:
            classifier = frozen_classifier(getattr(config, f"{name}_config"))
            if classifier is not None:
                setattr(self, name, classifier)

    @classmethod
    def check(cls, config: Any) -> None:
        """One clear line for a negative weight, or a weight without a classifier of domain A."""
        if config.semantic_weight < 0:
            raise GenlabError("model.semantic_weight must be >= 0")
        if config.semantic_weight > 0 and not config.semantic_classifier_config:
            raise GenlabError(
                "model.semantic_weight needs model.semantic_classifier: a classifier of domain A, the "
                "shipped digits-v2 for digits, a run of `genlab train classifier --data A`, or auto"
            )

    @classmethod
    def wanted(cls, config: Any) -> bool:
        """On with a weight, and kept (unused) when only classifiers are named: their weights stay in the run."""
        return config.semantic_weight > 0 or any(getattr(config, f"{name}_config") for name in SEMANTIC_FIELDS)

    def train(self, mode: bool = True) -> SemanticConsistency:
        """The classifiers stay in eval mode: they are frozen."""
        super().train(mode)
        for name in SEMANTIC_FIELDS:
            if hasattr(self, name):
                getattr(self, name).eval()
        return self

    def names(self) -> tuple[str, ...]:
        return ("semantic",) if self.config.semantic_weight else ()

    def forward(self, translation: Translation) -> dict[str, Tensor]:
        """The consistency of this direction's translation, when its source domain has a classifier."""
        t = translation
        name = next(name for name, direction in SEMANTIC_FIELDS.items() if direction == t.direction)
        if not self.config.semantic_weight or not hasattr(self, name):
            return {}
        return {"semantic": consistency(getattr(self, name), t.source, t.fake)}

    def loss(self, values: dict[str, Tensor]) -> Tensor | float:
        return self.config.semantic_weight * values["semantic"] if "semantic" in values else 0.0

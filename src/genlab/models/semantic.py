"""CyCADA's semantic consistency (Hoffman et al. 2018, Eq. 4) for the image-to-image models: a frozen classifier
must read a translation as the class it reads in the source image, so translating cannot change a digit's class."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import GenlabError
from .classifier import CLASSIFIER, fit_input
from .registry import build_model, run_config

# config field naming the classifier -> the direction whose source images and translations it reads
SEMANTIC_FIELDS = {"semantic_classifier": "a2b", "semantic_classifier_b": "b2a"}
SEMANTIC_PRETRAINED = {name: (CLASSIFIER,) for name in SEMANTIC_FIELDS}  # genlab.runs embeds and loads them


@dataclass
class SemanticConfig:
    """The semantic-consistency options every translator shares (all off by default)."""

    semantic_weight: float = 0.0  # weight of the consistency cross-entropy (CyCADA: 1); 0 = off
    semantic_classifier: str = ""  # classifier of domain A: shipped digit network (digits-v2), classifier run, auto
    semantic_classifier_config: dict = field(default_factory=dict)  # its config, copied so checkpoints stand alone
    semantic_classifier_b: str = ""  # optional classifier of domain B, for the b2a translations
    semantic_classifier_b_config: dict = field(default_factory=dict)


def check_semantic(config: Any) -> None:
    """One clear line for a negative weight, or a weight without a classifier of domain A."""
    if config.semantic_weight < 0:
        raise GenlabError("model.semantic_weight must be >= 0")
    if config.semantic_weight > 0 and not config.semantic_classifier_config:
        raise GenlabError("model.semantic_weight needs model.semantic_classifier: a classifier of domain A, the "
                          "shipped digits-v2 for digits, a run of `genlab train classifier --data A`, or auto")


def frozen_classifier(config_dict: dict) -> nn.Module | None:
    """The classifier a run config dict describes, frozen and in eval mode (None without one); genlab.runs loads
    its weights into it."""
    if not config_dict:
        return None
    config = run_config(config_dict)
    if config.model_name != CLASSIFIER:
        raise GenlabError(f"a semantic classifier must be a {CLASSIFIER} run, not a {config.model_name!r} run")
    return build_model(CLASSIFIER, config.model).requires_grad_(False).eval()


def semantic_classifiers(config: Any) -> dict[str, nn.Module]:
    """The frozen classifiers of a translator config, by config field (the field is the submodule's name)."""
    check_semantic(config)
    made = {name: frozen_classifier(getattr(config, f"{name}_config")) for name in SEMANTIC_FIELDS}
    return {name: model for name, model in made.items() if model is not None}


def classifier_input(x: Tensor, classifier: nn.Module) -> Tensor:
    """Translator images in [-1, 1] -> what the classifier reads: [0, 1], its channels (luma or copies), its size."""
    return fit_input((x.float() + 1) / 2, classifier.config)


def consistency(classifier: nn.Module, source: Tensor, translated: Tensor) -> Tensor:
    """CE(f(G(x)), argmax f(x)) (Hoffman et al. 2018, Eq. 4); the gradient reaches G only, never f."""
    with torch.no_grad():
        target = classifier.logits(classifier_input(source, classifier)).argmax(1)
    return F.cross_entropy(classifier.logits(classifier_input(translated, classifier)).float(), target)

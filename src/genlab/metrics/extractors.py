"""Feature extractors for sample-quality metrics (FID, KID, precision/recall, the Inception-Score analogue).

Inception weights cannot be downloaded offline, so genlab ships digit classifiers trained on MNIST
(``genlab/weights/NAME.safetensors``, rebuilt by ``benchmarks/digit_classifier.py``); the default extractor
for digit data (docs/metrics.md; each dataset's spec names it) is ``DEFAULT_DIGIT_EXTRACTOR``, the
augmentation-robust ``digits-v2``.
Scores computed with different extractors never mix: every extractor carries a name and the sha256 of its
weights file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

from ..config import dataclass_from_dict, dataclass_to_dict
from ..data.spec import KIND_EXTRACTORS
from ..errors import GenlabError
from ..files import sha256_file
from ..models import build_model, get_model_class
from ..models.classifier import CLASSIFIER, fit_input
from ..runs import SHIPPED, WEIGHTS, checkpoint_dir, load_config, load_run, load_weights, module_state, shipped_file
from ..runs import WEIGHTS_DIR as SHIPPED_WEIGHTS_DIR
from .inference import InferenceStack

WEIGHTS_DIR = SHIPPED_WEIGHTS_DIR  # the shipped networks (SHIPPED): NAME.safetensors + NAME.json
# v1 "digits" (shift augmentation) stays loadable for old runs; "digits-v2" is trained robust to noise, blur,
# contrast, stroke width, affine moves and inversion; "digits-check" is a small network trained the same
# way, "digits-plain" one trained on clean digits and mild noise only: the second counter of Stacked MNIST modes and
# of benchmarks/extractor_agreement.py, never a default.
DEFAULT_DIGIT_EXTRACTOR = KIND_EXTRACTORS["digits"]  # digits-v2: digit data's when none is named
CONFIG_KEY = "classifier_config"  # the one metadata entry of an exported file (safetensors does not keep the
# order of several entries, so one entry keeps exports byte-reproducible)


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _metadata(path: Path) -> dict[str, str]:
    """The header metadata of a safetensors file; one clear line when it is missing or unreadable."""
    if not path.is_file():
        raise GenlabError(f"extractor weights {path} do not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            return f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise GenlabError(f"cannot read extractor weights {path}: {_first_line(e)}") from None


def _model_config(path: Path, meta: dict[str, str]) -> Any:
    """The classifier config embedded in an exported file, or the run config.json beside a checkpoint file."""
    name = meta.get("model_name", CLASSIFIER)
    if name != CLASSIFIER:
        raise GenlabError(f"{path} holds a {name!r} model; feature extractors are {CLASSIFIER} networks")
    if CONFIG_KEY in meta:
        try:
            embedded = json.loads(meta[CONFIG_KEY])
        except ValueError as e:
            raise GenlabError(f"{path} has an unreadable embedded config: {_first_line(e)}") from None
        if not isinstance(embedded, dict):
            raise GenlabError(f"{path} has an embedded config that is not a JSON object")
        return dataclass_from_dict(get_model_class(CLASSIFIER).Config, embedded)
    config_file = path.parent / "config.json"
    if not config_file.is_file():
        raise GenlabError(f"{path} has no embedded config and no config.json beside it")
    config = load_config(config_file)
    if config.model_name != CLASSIFIER:
        raise GenlabError(f"{config_file} describes a {config.model_name!r} run, not a {CLASSIFIER}")
    return config.model


def _shipped_file(name: str) -> Path:
    """The shipped weights of ``name`` in WEIGHTS_DIR, checked against the sha256 recorded in NAME.json."""
    return shipped_file(name, WEIGHTS_DIR)


def _weights_file(source: str | Path) -> Path:
    """A shipped name, a classifier run folder or a .safetensors file -> the weights file."""
    if isinstance(source, str) and source in SHIPPED:
        return _shipped_file(source)
    path = Path(source).expanduser()
    if path.is_dir():
        return checkpoint_dir(path) / WEIGHTS
    if not path.exists():
        raise GenlabError(
            f"no feature extractor {str(source)!r}: name one of {', '.join(SHIPPED)}, a classifier "
            "run folder or a .safetensors file"
        )
    return path


def load_classifier(source: str | Path) -> tuple[nn.Module, Path]:
    """A trained classifier (eval mode, CPU) and its weights file, from a shipped name, run or file."""
    path = _weights_file(source)
    model = build_model(CLASSIFIER, _model_config(path, _metadata(path)))
    load_weights(model, path, CLASSIFIER)
    return model.float().eval().requires_grad_(False), path


class DigitFeatures(nn.Module):
    """Penultimate-layer features [N, F] of a genlab classifier, for any image batch.

    Accepts images [N, 1 or 3, H, W] as floats in [0, 1] or uint8 in [0, 255]; colour becomes ITU-R 601
    luma and every size is resized (bilinear, antialiased) to the classifier's input. It works as
    ``torchmetrics.image.fid.FrechetInceptionDistance(feature=DigitFeatures())``.
    """

    def __init__(self, weights: str | Path = DEFAULT_DIGIT_EXTRACTOR):
        super().__init__()
        self.classifier, path = load_classifier(weights)
        config = self.classifier.config
        self.num_features: int = config.features
        self.num_classes: int = config.num_classes
        self.source = str(path)
        self.name = str(weights) if weights in SHIPPED else f"{CLASSIFIER}:{Path(weights).name}"  # file-name safe
        self.weights_sha256 = sha256_file(path)
        self._inference: dict[str, nn.Module | None] = {}  # device -> the evaluation-only copy (InferenceStack)
        self.eval()

    def train(self, mode: bool = True) -> DigitFeatures:
        """Always in evaluation mode (batch-norm statistics, no dropout), whatever a wrapper asks."""
        return super().train(False)

    def preprocess(self, x: Tensor) -> Tensor:
        """Images as described in the class docstring -> what the classifier was trained on."""
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise GenlabError(
                f"feature extractor {self.name!r} expects images [N, 1 or 3, H, W], got shape {tuple(x.shape)}"
            )
        config = self.classifier.config
        param = next(self.classifier.parameters())
        x = x.to(param.device)
        x = x.float() if x.is_floating_point() else x.float() / 255
        return fit_input(x, config).to(param.dtype)

    def forward(self, x: Tensor) -> Tensor:
        """Features [N, num_features], float32 (without gradients, from ``InferenceStack``: the same numbers up
        to round-off, about twice as fast on the CPU)."""
        x = self.preprocess(x)
        if torch.is_grad_enabled():
            return self.classifier.features(x).float()
        return self._inference_body(x.device)(x).float()

    def classify(self, features: Tensor) -> Tensor:
        """Class logits [N, num_classes] from ``forward``'s features (the head alone: no second pass)."""
        return self.classifier.net.head(features.to(next(self.classifier.parameters()).dtype)).float()

    def _inference_body(self, device: torch.device) -> nn.Module:
        """The feature layers as an ``InferenceStack``, built once per device (kept out of the module's state)."""
        if self._inference.get(str(device)) is None:
            self._inference[str(device)] = InferenceStack(self.classifier.net.body)
        return self._inference[str(device)]

    def logits(self, x: Tensor) -> Tensor:
        """Class logits [N, num_classes], float32 (for the Inception-Score analogue)."""
        return self.classifier.logits(self.preprocess(x)).float()


def load_extractor(name_or_path: str | Path | nn.Module) -> nn.Module:
    """A shipped name (``SHIPPED``), a classifier run folder or .safetensors file -> DigitFeatures;
    a user ``nn.Module`` passes through unchanged."""
    if isinstance(name_or_path, nn.Module):
        return name_or_path
    if not isinstance(name_or_path, (str, Path)):
        raise GenlabError(f"a feature extractor is a name, a path or an nn.Module, not {type(name_or_path).__name__}")
    return DigitFeatures(name_or_path)


class GuideLogits(nn.Module):
    """A classifier as a Plug & Play condition network p(y | x) (Nguyen et al. 2017): forward gives class logits."""

    def __init__(self, features: DigitFeatures):
        super().__init__()
        self.features, self.num_classes, self.name = features, features.num_classes, features.name
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        """Class logits [N, num_classes] of images in [0, 1], differentiable in the images."""
        return self.features.logits(x)


class GuideEnsemble(nn.Module):
    """Several guides as one p(y | x) proportional to the geometric mean of theirs: a chain must convince every
    member, which steers away from one network's adversarial directions."""

    def __init__(self, guides: list[nn.Module]):
        super().__init__()
        self.guides = nn.ModuleList(guides)
        classes = {getattr(g, "num_classes", None) for g in guides}
        if len(classes) != 1:
            raise GenlabError(f"the guides of an ensemble must have the same classes, got {sorted(map(str, classes))}")
        self.num_classes = classes.pop()
        self.name = ",".join(str(getattr(g, "name", type(g).__name__)) for g in guides)
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        """Mean log-probabilities of the members [N, num_classes] (unnormalised logits of the ensemble)."""
        return torch.stack([torch.log_softmax(g(x).float(), 1) for g in self.guides]).mean(0)


def load_guide(spec: str | Path | nn.Module | list) -> nn.Module:
    """A shipped digit network name, a classifier run folder or .safetensors file -> a module giving class logits;
    several (a list, or names joined by commas: "digits-v2,digits") -> their GuideEnsemble; a user ``nn.Module``
    (already returning logits) passes through unchanged."""
    if isinstance(spec, nn.Module):
        return spec
    if isinstance(spec, str) and "," in spec:
        spec = [s.strip() for s in spec.split(",") if s.strip()]
    if isinstance(spec, (list, tuple)):
        return GuideEnsemble([load_guide(s) for s in spec]) if len(spec) > 1 else load_guide(spec[0])
    return GuideLogits(DigitFeatures(spec))


def export_classifier(run: str | Path, path: str | Path, dtype: torch.dtype = torch.float16) -> str:
    """Write a classifier run's network as one .safetensors file with its config embedded; returns its sha256."""
    model, config = load_run(run)
    if config.model_name != CLASSIFIER:
        raise GenlabError(f"{run} is a {config.model_name!r} run; only {CLASSIFIER} runs export as extractors")
    tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in module_state(model).items()}
    meta = {CONFIG_KEY: json.dumps(dataclass_to_dict(config.model), sort_keys=True)}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=meta)
    Path(path).chmod(0o644)  # a shippable file, readable by everyone
    return sha256_file(path)

"""An image classifier (conv net, cross-entropy): the domain feature network for FID/KID/IS on digits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.images import luma
from ..errors import GenlabError
from ..nn import downsampled_sizes
from ..ops.augment import mild_noise, robust_augment
from .base import GenerativeModel
from .registry import register


@dataclass
class ClassifierConfig:
    """Conv stages, the penultimate feature layer and augmentation; 0 fields come from the data."""

    image_size: int = 0  # 0 = the data's
    channels: int = 0  # 0 = the data's
    num_classes: int = 0  # 0 = the data's classes
    widths: tuple[int, ...] = (32, 64)  # one stage per width: convs_per_stage 3x3 convs, then a 2x2 max-pool
    convs_per_stage: int = 2  # 3x3 convolutions before each stage's pooling
    features: int = 128  # units of the penultimate layer, the features of genlab.metrics.extractors
    dropout: float = 0.25  # before the output layer
    shift: int = 2  # training augmentation: random translation by up to this many pixels per axis
    augment: str = "shift"  # "shift" (the above only), "noise" (shift plus mild noise) or "robust" (robust_augment)


class ConvClassifierNet(nn.Module):
    """x [B, C, H, W] -> features [B, F] -> logits [B, K]; stages of (3x3 conv, BN, ReLU) x n, 2x2 max-pool."""

    def __init__(self, c: ClassifierConfig):
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = c.channels
        for width in c.widths:
            for _ in range(c.convs_per_stage):
                layers += [nn.Conv2d(in_ch, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
                in_ch = width
            layers.append(nn.MaxPool2d(2))  # (width) x size/2 x size/2
        final = downsampled_sizes(c.image_size, len(c.widths))[-1]
        self.body = nn.Sequential(
            *layers,
            nn.Flatten(),  # (widths[-1] * final * final)
            nn.Linear(in_ch * final * final, c.features, bias=False),
            nn.BatchNorm1d(c.features),
            nn.ReLU(),
        )  # (features)
        self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(c.features, c.num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def random_shift(x: Tensor, max_shift: int, generator: torch.Generator | None = None) -> Tensor:
    """Translate every image by its own integer offset in [-max_shift, max_shift] per axis (zero fill)."""
    if max_shift <= 0:
        return x
    b, c, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4)
    offsets = torch.randint(0, 2 * max_shift + 1, (2, b, 1), generator=generator, device=x.device)
    rows = offsets[0] + torch.arange(h, device=x.device)  # [B, H] rows of the padded image to keep
    cols = offsets[1] + torch.arange(w, device=x.device)  # [B, W]
    x = padded.gather(2, rows[:, None, :, None].expand(b, c, h, w + 2 * max_shift))
    return x.gather(3, cols[:, None, None, :].expand(b, c, h, w))


def fit_input(x: Tensor, config: ClassifierConfig) -> Tensor:
    """Float images in [0, 1] of any channel count (1 or 3) and size -> the classifier's channels (ITU-R 601 luma or
    copies) and size (bilinear, antialiased)."""
    if x.shape[1] != config.channels:
        x = luma(x) if config.channels == 1 else x.expand(-1, config.channels, -1, -1)
    if x.shape[-2:] != (config.image_size, config.image_size):
        x = F.interpolate(
            x, size=(config.image_size, config.image_size), mode="bilinear", antialias=True, align_corners=False
        )
    return x


AUGMENTATIONS = ("shift", "noise", "robust")
CLASSIFIER = "classifier"  # the registered name: feature extractors, CyCADA's semantic term and adapt train it


@register(CLASSIFIER)
class Classifier(GenerativeModel):
    """Cross-entropy classifier of labelled images; logs loss and accuracy. It cannot sample."""

    Config = ClassifierConfig
    presets = {
        "tiny": ["model.widths=8,16", "model.convs_per_stage=1", "model.features=16"],  # tests
        # the shipped digit feature network (src/genlab/weights/digits.json, benchmarks/digit_classifier.py)
        "digits": [
            "train.epochs=4",
            "train.batch_size=256",
            "train.lr=2e-3",
            "train.lr_schedule=cosine",
            "train.eval_images=10000",
        ],
        # the robust digit feature network v2 (src/genlab/weights/digits-v2.json): noise, blur,
        # contrast, stroke width, affine moves and inversion (benchmarks/digit_classifier.py --version v2)
        "digits-v2": [
            "model.augment=robust",
            "train.epochs=8",
            "train.batch_size=256",
            "train.lr=2e-3",
            "train.lr_schedule=cosine",
            "train.eval_images=10000",
        ],
        # the second digit counter `digits-plain`: clean digits plus mild noise only, another layout and seed
        # (src/genlab/weights/digits-plain.json, benchmarks/digit_classifier.py --version plain)
        "digits-plain": [
            "model.augment=noise",
            "model.widths=16,32,64",
            "model.convs_per_stage=1",
            "model.features=64",
            "model.dropout=0.1",
            "train.seed=11",
            "train.epochs=3",
            "train.batch_size=256",
            "train.lr=2e-3",
            "train.lr_schedule=cosine",
            "train.eval_images=2000",
        ],
        # genlab adapt: the digits network in 3 epochs, once per row and seed (CPU-sized)
        "adapt": [
            "train.epochs=3",
            "train.batch_size=128",
            "train.lr=2e-3",
            "train.lr_schedule=cosine",
            "train.eval_images=2000",
        ],
    }

    def __init__(self, config: ClassifierConfig):
        super().__init__(config)
        c = config
        if c.channels <= 0 or c.image_size <= 0 or c.num_classes < 2:
            raise GenlabError("model config is unresolved: image_size, channels and num_classes come from the data")
        if not c.widths or c.convs_per_stage < 1 or c.features < 1 or c.shift < 0:
            raise GenlabError(
                "model.widths needs a stage, model.convs_per_stage and model.features must be "
                "at least 1 and model.shift at least 0"
            )
        if c.augment not in AUGMENTATIONS:
            raise GenlabError(f"model.augment={c.augment!r} is unknown: choose {' or '.join(AUGMENTATIONS)}")
        self.net = ConvClassifierNet(c)

    @classmethod
    def resolve_config(cls, config: Any, data: Any, dataset: Any) -> None:
        """Image size, channels and class count from the (labelled image) dataset."""
        if dataset.is_points:
            raise GenlabError("the classifier needs image data, not 2-D points")
        config.image_size = config.image_size or dataset.image_size
        config.channels = config.channels or dataset.channels
        if not config.num_classes:
            if len(dataset.classes) < 2:
                raise GenlabError("the classifier needs labelled data with at least two classes")
            config.num_classes = len(dataset.classes)

    def prepare(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Random shifts (or the robust augmentation) while training; evaluation sees the images as they are."""
        if not self.training:
            return x
        if self.config.augment == "robust":
            return robust_augment(x, generator)
        shifted = random_shift(x, self.config.shift, generator)
        return mild_noise(shifted, generator) if self.config.augment == "noise" else shifted

    def features(self, x: Tensor) -> Tensor:
        """Penultimate-layer activations [B, features] of images in [0, 1]."""
        return self.net.body(x)

    def logits(self, x: Tensor) -> Tensor:
        """Class logits [B, num_classes] of images in [0, 1]."""
        return self.net(x)

    def loss(self, batch: tuple[Tensor, Tensor], phase: str) -> dict[str, Tensor]:
        x, y = batch
        logits = self.net(x).float()
        accuracy = (logits.argmax(1) == y).float().mean()
        return {"loss": F.cross_entropy(logits, y), "accuracy": accuracy.detach()}

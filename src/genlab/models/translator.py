"""What every image-to-image model shares: the two domains, the directions between them, the [-1, 1] image
range, the GAN objective, a generator and a discriminator optimizer, and the round trip."""
from __future__ import annotations

from typing import Any, Callable, ClassVar

import torch
from torch import Tensor, nn

from ..errors import GenlabError
from ..losses import GANObjective, make_objective
from ..optim import adam
from .base import GenerativeModel

DIRECTIONS = ("a2b", "b2a")  # a2b: domain A (label 0) -> domain B (label 1); b2a the other way
OPPOSITE = {"a2b": "b2a", "b2a": "a2b"}


def domain_indices(direction: str) -> tuple[int, int]:
    """(source domain, target domain) of a direction: a2b -> (0, 1), b2a -> (1, 0)."""
    check_direction_name(direction)
    return (0, 1) if direction == "a2b" else (1, 0)


def check_direction_name(direction: str) -> None:
    """A clear line unless ``direction`` is a2b or b2a."""
    if direction not in OPPOSITE:
        raise GenlabError(f"direction must be a2b or b2a, got {direction!r}")


def check_direction(model: Any, direction: str) -> None:
    """A clear line unless ``model`` translates and supports ``direction``."""
    model.require("translate", "translate images")
    check_direction_name(direction)
    if direction not in model.directions:
        raise GenlabError(f"model {model.name!r} translates {' and '.join(model.directions)} only, not {direction}")


def require_two_domains(model: str, dataset: Any) -> None:
    """Image-to-image models train on unpaired data: images labelled 0 (domain A) and 1 (domain B)."""
    if dataset.is_points or set(dataset.labels.unique().tolist()) != {0, 1}:
        raise GenlabError(f"{model} trains on two image domains labelled 0 (A) and 1 (B): "
                          "use --data unpaired:DIR_A,DIR_B (folders or dataset names)")


def translator_objective(model: str, objective: str) -> GANObjective:
    """The GAN objective of an image-to-image model: any but WGAN's, whose critic needs a Lipschitz
    constraint these discriminators lack, and rpgan's, whose generator loss needs the paired real images."""
    made = make_objective(objective)
    if objective in ("wgan", "wgan-gp") or made.paired:
        why = "pairs each fake with a real image" if made.paired else "needs a Lipschitz constraint on the critic"
        raise GenlabError(f"{model} cannot train with model.objective={objective} (it {why}); use "
                          "lsgan, nonsaturating, minimax or hinge")
    return made


class Translator(GenerativeModel):
    """Base of the image-to-image models: phases "g" (the generators) and "d" (the discriminators) on batches
    that mix both domains (labels 0 = A, 1 = B); images live in [-1, 1] inside, [0, 1] outside."""

    phases = ("g", "d")
    directions: ClassVar[tuple[str, ...]] = DIRECTIONS

    def __init__(self, config: Any):
        super().__init__(config)
        if config.channels <= 0 or config.image_size <= 0:
            raise GenlabError("model config is unresolved: image_size/channels come from the data")
        self.objective = translator_objective(self.name, config.objective)

    @classmethod
    def resolve_config(cls, config: Any, data: Any, dataset: Any) -> None:
        """Image size and channels from the (unpaired) data."""
        require_two_domains(cls.name, dataset)
        config.channels = config.channels or dataset.channels
        config.image_size = config.image_size or dataset.image_size

    def generator_parameters(self) -> list[nn.Parameter]:
        """What phase "g" trains."""
        raise NotImplementedError

    def discriminator_parameters(self) -> list[nn.Parameter]:
        """What phase "d" trains."""
        raise NotImplementedError

    def optimizers(self, train: Any) -> dict[str, torch.optim.Optimizer]:
        """Adam over the generators and Adam over the discriminators, each at its own lr when set."""
        betas = tuple(train.betas)
        return {"g": adam(self.generator_parameters(), self.config.lr_g or train.lr, betas),
                "d": adam(self.discriminator_parameters(), self.config.lr_d or train.lr, betas)}

    def prepare(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Images [0, 1] -> [-1, 1] (the generators' tanh range)."""
        return x * 2 - 1

    def phase_loss(self, phase: str, losses: dict[str, Callable[[], dict[str, Tensor]]]) -> dict[str, Tensor]:
        """The loss of ``phase`` from ``{"g": ..., "d": ...}``; a clear line for any other phase."""
        if phase not in losses:
            raise GenlabError(f"{self.name} has phases g and d, not {phase!r}")
        return losses[phase]()

    def generator_for(self, direction: str) -> nn.Module:
        """The network that maps images of the direction's source domain ([-1, 1]) to its target domain."""
        raise NotImplementedError

    @torch.no_grad()
    def translate(self, images: Tensor, direction: str = "a2b") -> Tensor:
        """Images in [0, 1] of the source domain -> the other domain in [0, 1]."""
        forward = self.generator_for(direction)
        return ((forward(self.prepare(images.to(self.device))) + 1) / 2).float()

    @torch.no_grad()
    def round_trip(self, images: Tensor, direction: str = "a2b") -> Tensor:
        """[N, 3, C, H, W] in [0, 1]: inputs, their translations, and those translated back (Zhu et al. Fig. 4);
        [N, 2, C, H, W] without the way back for a model that translates one way only (a refiner)."""
        check_direction(self, direction)
        x = images.float().to(self.device)
        columns = [x, self.translate(x, direction)]
        if OPPOSITE[direction] in self.directions:
            columns.append(self.translate(columns[1], OPPOSITE[direction]))
        return torch.stack(columns, 1).clamp(0, 1).cpu()

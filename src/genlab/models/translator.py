"""What every image-to-image model shares: the two domains, the directions between them, the [-1, 1] image
range, the GAN objective, a generator and a discriminator optimizer, and the round trip."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ..errors import GenlabError
from ..losses import GANObjective, make_objective
from ..nn.resnet import rename_on_load
from ..optim import adam
from .base import GenerativeModel
from .history import HistoryPool
from .terms import Term, Translation, build_terms, renamed_prefix, term_renames, terms_pretrained

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
        raise GenlabError(
            f"{model} trains on two image domains labelled 0 (A) and 1 (B): "
            "use --data unpaired:DIR_A,DIR_B (folders or dataset names)"
        )


def translator_objective(model: str, objective: str) -> GANObjective:
    """The GAN objective of an image-to-image model: any but WGAN's, whose critic needs a Lipschitz
    constraint these discriminators lack, and rpgan's, whose generator loss needs the paired real images."""
    made = make_objective(objective)
    if objective in ("wgan", "wgan-gp") or made.paired:
        why = "pairs each fake with a real image" if made.paired else "needs a Lipschitz constraint on the critic"
        raise GenlabError(
            f"{model} cannot train with model.objective={objective} (it {why}); use "
            "lsgan, nonsaturating, minimax or hinge"
        )
    return made


class Translator(GenerativeModel):
    """Base of the image-to-image models: phases "g" (the generators) and "d" (the discriminators) on batches
    that mix both domains (labels 0 = A, 1 = B); images live in [-1, 1] inside, [0, 1] outside.

    Extra generator terms are parts (genlab.models.terms): ``self.terms`` holds those the config turns on, each
    direction's translation goes through ``term_values`` and their weighted sum is ``terms_loss``. A term with
    style codes (``styles``) gives the generators a style to translate in.
    """

    phases = ("g", "d")
    directions: ClassVar[tuple[str, ...]] = DIRECTIONS

    def __init_subclass__(cls, **kwargs: Any):
        """A translator loads the runs its terms build on (their classifiers): genlab.runs embeds them."""
        super().__init_subclass__(**kwargs)
        if "Config" in cls.__dict__:
            cls.pretrained = terms_pretrained(cls.Config)
            cls.optional_pretrained = tuple(cls.pretrained)

    def __init__(self, config: Any):
        super().__init__(config)
        if config.channels <= 0 or config.image_size <= 0:
            raise GenlabError("model config is unresolved: image_size/channels come from the data")
        self.objective = translator_objective(self.name, config.objective)
        self.terms = build_terms(config)
        if len([term for term in self.terms.values() if term.style_dim]) > 1:
            raise GenlabError("only one translator term may give the generators style codes")
        if term_renames(self.terms):  # runs saved before terms were parts kept their weights elsewhere
            rename_on_load(self, partial(renamed_prefix, renames=term_renames(self.terms)))

    @property
    def styles(self) -> Term | None:
        """The term whose codes the generators take as a target style; None for a deterministic translator."""
        return next((term for term in self.terms.values() if term.style_dim), None)

    @property
    def style_dim(self) -> int:
        """Numbers in the generators' style code; 0 for a deterministic translator."""
        return self.styles.style_dim if self.styles is not None else 0

    def draw_style(self, like: Tensor, generator: torch.Generator | None = None) -> Tensor | None:
        """A target style from the style prior per image of ``like``; None for a deterministic translator."""
        return None if self.styles is None else self.styles.draw(like, generator)

    def own_style(self, x: Tensor, domain: int) -> Tensor | None:
        """The style the encoder of ``domain`` reads in its images x; None for a deterministic translator."""
        return None if self.styles is None else self.styles.encode(x, domain)

    def term_parameters(self) -> list[nn.Parameter]:
        """What the terms train with the generators (their frozen parts, such as classifiers, excluded)."""
        return [p for p in self.terms.parameters() if p.requires_grad]

    def term_names(self) -> tuple[str, ...]:
        """What the terms log in phase g."""
        return tuple(name for term in self.terms.values() for name in term.names())

    def term_values(
        self,
        direction: str,
        source: Tensor,
        fake: Tensor,
        style: Tensor | None = None,
        render: Callable[[Tensor], Tensor] | None = None,
    ) -> dict[str, Tensor]:
        """The terms' unweighted values on one direction's translation ``fake`` of ``source`` (in ``style``;
        ``render(s)``: the same sources translated in style s)."""
        translation = Translation(direction, source, fake, domain_indices(direction)[1], style, render, self.draw_style)
        return {name: value for term in self.terms.values() for name, value in term(translation).items()}

    def terms_loss(self, values: dict[str, Tensor]) -> Tensor | float:
        """The terms' weighted sum, from their values summed over the directions."""
        loss: Tensor | float = 0.0
        for term in self.terms.values():
            loss = loss + term.loss(values)
        return loss

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
        return {
            "g": adam(self.generator_parameters(), self.config.lr_g or train.lr, betas),
            "d": adam(self.discriminator_parameters(), self.config.lr_d or train.lr, betas),
        }

    def prepare(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Images [0, 1] -> [-1, 1] (the generators' tanh range)."""
        return x * 2 - 1

    def phase_loss(self, phase: str, losses: dict[str, Callable[[], dict[str, Tensor]]]) -> dict[str, Tensor]:
        """The loss of ``phase`` from ``{"g": ..., "d": ...}``; a clear line for any other phase."""
        if phase not in losses:
            raise GenlabError(f"{self.name} has phases g and d, not {phase!r}")
        return losses[phase]()

    def generator_for(self, direction: str, style: Tensor | None = None) -> Callable[[Tensor], Tensor]:
        """The network that maps images of the direction's source domain ([-1, 1]) to its target domain; with style
        codes, in ``style`` [N, style_dim] (default: drawn from the style prior per image)."""
        raise NotImplementedError

    @torch.no_grad()
    def translate(self, images: Tensor, direction: str = "a2b", style: Tensor | None = None) -> Tensor:
        """Images in [0, 1] of the source domain -> the other domain in [0, 1]; ``style`` [N, style_dim]: the
        target styles of a translator with style codes (default: drawn from N(0, I))."""
        if style is not None and not self.style_dim:
            raise GenlabError(f"this {self.name} run has no style codes (model.style_dim 0): translate without one")
        forward = self.generator_for(direction, None if style is None else style.to(self.device))
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


def split_domains(x: Tensor, y: Tensor) -> dict[str, Tensor]:
    """A mixed batch by the direction each image translates in: domain A (label 0) a2b, domain B b2a."""
    return {"a2b": x[y == 0], "b2a": x[y == 1]}


class TwoWayTranslator(Translator):
    """A translator both ways with a discriminator per domain, trained on translations drawn through a history
    pool per direction (Shrivastava et al. 2017; Zhu et al. 2017, Sec. 4): what CycleGAN and UNIT share."""

    def __init__(self, config: Any):
        super().__init__(config)
        if config.pool_size < 0:
            raise GenlabError("model.pool_size must be >= 0")
        self.pools = {"a2b": HistoryPool(config.pool_size), "b2a": HistoryPool(config.pool_size)}
        self._fakes: tuple[Tensor, dict[str, Tensor]] | None = None  # phase g's translations, for phase d

    def critic_for(self, direction: str) -> nn.Module:
        """The discriminator of the direction's target domain."""
        raise NotImplementedError

    def loss(self, batch: tuple[Tensor, Tensor], phase: str) -> dict[str, Tensor]:
        x, y = batch
        sources = split_domains(x, y)
        return self.phase_loss(
            phase, {"g": lambda: self.generator_loss(x, sources), "d": lambda: self.discriminator_loss(x, sources)}
        )

    def generator_loss(self, x: Tensor, sources: dict[str, Tensor]) -> dict[str, Tensor]:
        """Phase "g" on a batch split by direction; calls ``keep_fakes`` with its translations."""
        raise NotImplementedError

    def keep_fakes(self, x: Tensor, fakes: dict[str, Tensor]) -> None:
        """Phase g's translations of batch ``x`` (detached), which phase d then judges instead of translating
        again."""
        if self.training and torch.is_grad_enabled():
            self._fakes = (x, {d: fake.detach() for d, fake in fakes.items()})

    def discriminator_loss(self, x: Tensor, sources: dict[str, Tensor]) -> dict[str, Tensor]:
        """Each D: real images of its domain against translations into it (through the history pool)."""
        fakes = self._fakes[1] if self._fakes is not None and self._fakes[0] is x else self._translate(sources)
        self._fakes = None
        training = self.training and torch.is_grad_enabled()
        loss = x.new_zeros((), requires_grad=True)  # a batch of one domain may leave nothing to train
        reals = {"a2b": sources["b2a"], "b2a": sources["a2b"]}  # a2b translates into B: D_B's real images are B
        out = {}
        for direction, name in (("a2b", "D_B"), ("b2a", "D_A")):
            fake, real, term = fakes.get(direction), reals[direction], x.new_zeros(())
            if fake is not None and training:
                fake = self.pools[direction].query(fake)
            if fake is not None and len(real):
                critic = self.critic_for(direction)
                term = self.objective.discriminator(critic(real), critic(fake))
            loss = loss + term
            out[name] = term.detach()
        return {"loss": loss, **out}

    @torch.no_grad()
    def _translate(self, sources: dict[str, Tensor]) -> dict[str, Tensor]:
        return {d: self.generator_for(d)(src) for d, src in sources.items() if len(src)}

    # -- resume: the pools are training state, not weights --------------------------------------
    def resume_state(self) -> dict[str, Tensor]:
        """Both history pools (pool_a2b = translations into B, pool_b2a = into A)."""
        return {f"pool_{d}.{k}": v for d, pool in self.pools.items() for k, v in pool.state().items()}

    def load_resume_state(self, state: dict[str, Tensor]) -> None:
        for d, pool in self.pools.items():
            prefix = f"pool_{d}."
            pool.load_state({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})

    @torch.no_grad()
    def pictures(self, images: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """Side-by-side grids input | translated | cycled back, up to 8 rows per direction."""
        out = {}
        for domain, direction in enumerate(DIRECTIONS):
            src = images[labels.to(images.device) == domain][:8]
            if len(src):
                out[f"translations_{direction}"] = self.round_trip(src, direction)
        return out

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
from .history import HistoryPool
from .semantic import SEMANTIC_FIELDS, SEMANTIC_PRETRAINED, consistency, semantic_classifiers
from .style import style_codes

# what the two-way translators' presets share: their discriminators and training budgets on digits and photos
DIGITS_PRESET = ["model.d_width=32", "model.d_layers=2", "train.batch_size=32", "train.epochs=4", "data.limit=12000",
                 "train.eval_images=500"]
PHOTO_PRESET = ["model.image_size=256", "model.d_width=64", "model.d_layers=3", "train.batch_size=8",
                "train.epochs=200"]
# CyCADA's term on digit pairs, both ways: digits-v2 reads MNIST, synthdigits (98%) and mnistm (74%)
SEMANTIC_DIGITS = ["model.semantic_weight=1", "model.semantic_classifier=digits-v2",
                   "model.semantic_classifier_b=digits-v2"]
# style codes on digit pairs (each preset adds mode seeking at half its GAN weight): one MNIST digit drawn in every
# mnistm look, dark digits on light patches included
STYLE_DIGITS = ["model.style_dim=8"]
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
    pretrained = SEMANTIC_PRETRAINED  # the frozen classifiers of the semantic-consistency term, when named
    optional_pretrained = tuple(SEMANTIC_PRETRAINED)

    def __init__(self, config: Any):
        super().__init__(config)
        if config.channels <= 0 or config.image_size <= 0:
            raise GenlabError("model config is unresolved: image_size/channels come from the data")
        self.objective = translator_objective(self.name, config.objective)
        for name, classifier in semantic_classifiers(config).items():
            setattr(self, name, classifier)  # a submodule named as its config field: genlab.runs loads it

    def train(self, mode: bool = True) -> "Translator":
        """The semantic classifiers stay in eval mode: they are frozen."""
        super().train(mode)
        for name in SEMANTIC_FIELDS:
            if hasattr(self, name):
                getattr(self, name).eval()
        return self

    def semantic_loss(self, sources: dict[str, Tensor], fakes: dict[str, Tensor]) -> Tensor | None:
        """CyCADA's semantic consistency (Hoffman et al. 2018, Eq. 4) summed over the directions whose source
        domain has a classifier; None when model.semantic_weight is 0."""
        if not self.config.semantic_weight:
            return None
        terms = [consistency(getattr(self, name), sources[d], fakes[d]) for name, d in SEMANTIC_FIELDS.items()
                 if hasattr(self, name) and d in fakes]
        return sum(terms, torch.zeros((), device=self.device))

    def with_semantic(self, out: dict[str, Tensor], sources: dict[str, Tensor],
                      fakes: dict[str, Tensor]) -> dict[str, Tensor]:
        """Phase g's losses plus semantic_weight * the semantic term (logged as "semantic") when it is on."""
        semantic = self.semantic_loss(sources, fakes)
        if semantic is None:
            return out
        return {**out, "loss": out["loss"] + self.config.semantic_weight * semantic, "semantic": semantic.detach()}

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

    def generator_for(self, direction: str) -> Callable[[Tensor], Tensor]:
        """The network that maps images of the direction's source domain ([-1, 1]) to its target domain."""
        raise NotImplementedError

    @torch.no_grad()
    def translate(self, images: Tensor, direction: str = "a2b", style: Tensor | None = None) -> Tensor:
        """Images in [0, 1] of the source domain -> the other domain in [0, 1]; ``style`` [N, style_dim]: the
        target styles of a translator with style codes (default: drawn from N(0, I))."""
        if style is None:
            forward = self.generator_for(direction)
        elif getattr(self, "styles", None) is None:
            raise GenlabError(f"this {self.name} run has no style codes (model.style_dim 0): translate without one")
        else:
            forward = self.generator_for(direction, style.to(self.device))
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
    pool per direction (Shrivastava et al. 2017; Zhu et al. 2017, Sec. 4), and optional style codes (models/style.py):
    what CycleGAN and UNIT share."""

    def __init__(self, config: Any):
        super().__init__(config)
        if config.pool_size < 0:
            raise GenlabError("model.pool_size must be >= 0")
        self.pools = {"a2b": HistoryPool(config.pool_size), "b2a": HistoryPool(config.pool_size)}
        self._fakes: tuple[Tensor, dict[str, Tensor]] | None = None  # phase g's translations, for phase d
        self.styles = style_codes(config)  # None: a deterministic translator

    def draw_style(self, like: Tensor, generator: torch.Generator | None = None) -> Tensor | None:
        """A target style from N(0, I) per image of ``like``; None for a deterministic translator."""
        return None if self.styles is None else self.styles.draw(like, generator)

    def own_style(self, x: Tensor, domain: int) -> Tensor | None:
        """The style the encoder of ``domain`` reads in its images x; None for a deterministic translator."""
        return None if self.styles is None else self.styles.encode(x, domain)

    def style_terms(self, fake: Tensor, domain: int, style: Tensor | None,
                    render: Callable[[Tensor], Tensor]) -> dict[str, Tensor]:
        """For a translator with style codes, {"style": |E(fake) - style|_1} and, when model.diversity_weight > 0,
        {"diversity": the mode-seeking ratio} (``render(s)``: the same input translated in style s); else nothing."""
        if self.styles is None:
            return {}
        terms = {"style": self.styles.reconstruction(fake, domain, style)}
        if self.config.diversity_weight:
            terms["diversity"] = self.styles.diversity(fake, style, render)
        return terms

    def style_names(self) -> tuple[str, ...]:
        """The names ``style_terms`` returns: style (and diversity), or none for a deterministic translator."""
        if self.styles is None:
            return ()
        return ("style", "diversity") if self.config.diversity_weight else ("style",)

    def style_loss(self, terms: dict[str, Tensor]) -> Tensor | float:
        """style_weight * style - diversity_weight * diversity (the generator maximizes the diversity)."""
        c = self.config
        loss = c.style_weight * terms["style"] if "style" in terms else 0.0
        return loss - c.diversity_weight * terms["diversity"] if "diversity" in terms else loss

    def critic_for(self, direction: str) -> nn.Module:
        """The discriminator of the direction's target domain."""
        raise NotImplementedError

    def loss(self, batch: tuple[Tensor, Tensor], phase: str) -> dict[str, Tensor]:
        x, y = batch
        sources = split_domains(x, y)
        return self.phase_loss(phase, {"g": lambda: self.generator_loss(x, sources),
                                       "d": lambda: self.discriminator_loss(x, sources)})

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
            pool.load_state({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})

    @torch.no_grad()
    def pictures(self, images: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """Side-by-side grids input | translated | cycled back, up to 8 rows per direction."""
        out = {}
        for domain, direction in enumerate(DIRECTIONS):
            src = images[labels.to(images.device) == domain][:8]
            if len(src):
                out[f"translations_{direction}"] = self.round_trip(src, direction)
        return out

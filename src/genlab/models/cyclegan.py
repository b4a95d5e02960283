"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation with cycle-consistency."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from ..errors import GenlabError
from ..nn.resnet import PatchDiscriminator, ResnetGenerator, patch_layers
from .registry import register
from .terms import TermsConfig, add_values, zeros
from .terms.semantic import SEMANTIC_DIGITS
from .terms.style import STYLE_DIGITS
from .translator import TwoWayTranslator, check_direction_name, domain_indices

PAPER_OPTIMIZER = ["train.lr=2e-4", "train.betas=0.5,0.999", "train.lr_schedule=linear_decay"]
# what the two-way translators' presets share (UNIT's too): their discriminators and training budgets on digits
# and photos
DIGITS_PRESET = [
    "model.d_width=32",
    "model.d_layers=2",
    "train.batch_size=32",
    "train.epochs=4",
    "data.limit=12000",
    "train.eval_images=500",
]
PHOTO_PRESET = [
    "model.image_size=256",
    "model.d_width=64",
    "model.d_layers=3",
    "train.batch_size=8",
    "train.epochs=200",
]


@dataclass
class CycleGANConfig(TermsConfig):
    """Two ResNet generators, two PatchGANs and the loss weights; 0 / -1 fields are filled from the data; the
    options of the translator terms (models/terms) come first."""

    image_size: int = 0  # 0 = the data's (a multiple of 4, at least 8)
    channels: int = 0  # both domains are converted to this many channels
    g_width: int = 64  # width of the generators' first layer (paper: 64)
    g_blocks: int = 9  # residual blocks per generator (paper: 6 at 128 px, 9 at 256 px)
    d_width: int = 64  # width of the PatchGANs' first layer (paper: 64)
    d_layers: int = 0  # stride-2 convs of the PatchGANs; 0 = auto: 3 (70x70 patches) from 64 px, else 2
    objective: str = "lsgan"  # lsgan | nonsaturating | minimax | hinge
    adv_weight: float = -1.0  # weight of each generator's adversarial term; -1 = auto (see resolve_config)
    cycle_weight: float = 10.0  # lambda of the cycle-consistency L1 (paper: 10)
    identity_ratio: float = 0.5  # identity L1 weight = identity_ratio * cycle_weight (paper: 0.5); 0 = off
    pool_size: int = 50  # generated images per domain kept for D updates (paper: 50); 0 = off
    lr_g: float = 0.0  # 0 = train.lr
    lr_d: float = 0.0  # 0 = train.lr


@register("cyclegan")
class CycleGAN(TwoWayTranslator):
    """G: A -> B and F: B -> A against D_B and D_A; a training batch mixes both domains (labels 0 = A, 1 = B).

    Phase "g" minimizes adv_weight * (GAN(G) + GAN(F)) + lambda * cycle + identity_ratio * lambda * identity
    (Eq. 3 plus the identity term of Sec. 5.2); phase "d" trains D_A and D_B on real images against
    translations drawn through a history pool. The terms add theirs (models/terms); with style codes each
    generator also takes a target style (drawn to translate; read from the image by the source domain's encoder
    for the cycle and identity terms).
    """

    Config = CycleGANConfig
    train_defaults = PAPER_OPTIMIZER + ["train.batch_size=8", "train.grid_size=16"]
    presets = {
        "tiny": ["model.g_width=4", "model.g_blocks=1", "model.d_width=4", "model.d_layers=2"],  # tests
        "digits": ["model.g_width=32", "model.g_blocks=3", *DIGITS_PRESET],
        "digits-cycada": ["model.g_width=32", "model.g_blocks=3", *DIGITS_PRESET, *SEMANTIC_DIGITS],
        "digits-style": [
            "model.g_width=32",
            "model.g_blocks=3",
            *DIGITS_PRESET,
            *STYLE_DIGITS,
            "model.diversity_weight=1",
        ],
        "photo": ["model.g_width=64", "model.g_blocks=9", *PHOTO_PRESET],
    }

    def __init__(self, config: CycleGANConfig):
        super().__init__(config)
        c = config
        if c.d_layers <= 0 or c.adv_weight < 0:
            raise GenlabError("model config is unresolved: image_size/channels come from the data")
        if min(c.cycle_weight, c.identity_ratio) < 0:
            raise GenlabError("model.cycle_weight and model.identity_ratio must be >= 0")
        self.gen_ab = ResnetGenerator(c.channels, c.image_size, c.g_width, c.g_blocks, self.style_dim)  # G: A -> B
        self.gen_ba = ResnetGenerator(c.channels, c.image_size, c.g_width, c.g_blocks, self.style_dim)  # F: B -> A
        self.disc_a = PatchDiscriminator(c.channels, c.image_size, c.d_width, c.d_layers)  # real A vs F(b)
        self.disc_b = PatchDiscriminator(c.channels, c.image_size, c.d_width, c.d_layers)  # real B vs G(a)

    @classmethod
    def resolve_config(cls, config: Any, data: Any, dataset: Any) -> None:
        """Sizes from the data; the adversarial weight from the objective; the PatchGAN depth from the size.

        Zhu et al.'s least-squares generator loss is E(D(G(x)) - 1)^2, twice genlab's lsgan (Mao et al.'s
        1/2 form), so adv_weight auto is 2 for lsgan (matching the paper's balance with lambda) and 1 otherwise.
        """
        super().resolve_config(config, data, dataset)
        config.d_layers = config.d_layers or patch_layers(config.image_size)
        if config.adv_weight < 0:
            config.adv_weight = 2.0 if config.objective == "lsgan" else 1.0

    def generator_parameters(self) -> list[nn.Parameter]:
        """Both generators and the terms' trainable parts (paper: one Adam, lr 2e-4, betas (0.5, 0.999))."""
        return [*self.gen_ab.parameters(), *self.gen_ba.parameters(), *self.term_parameters()]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        """Both discriminators."""
        return [*self.disc_a.parameters(), *self.disc_b.parameters()]

    def nets(self, direction: str) -> tuple[nn.Module, nn.Module, nn.Module]:
        """(forward generator, backward generator, discriminator of the target domain) of a direction."""
        check_direction_name(direction)
        if direction == "a2b":
            return self.gen_ab, self.gen_ba, self.disc_b
        return self.gen_ba, self.gen_ab, self.disc_a

    def critic_for(self, direction: str) -> nn.Module:
        """D_B for a2b, D_A for b2a."""
        return self.nets(direction)[2]

    def generator_for(self, direction: str, style: Tensor | None = None) -> Callable[[Tensor], Tensor]:
        """G for a2b, F for b2a; with style codes, in ``style`` (default: one drawn per image)."""
        forward = self.nets(direction)[0]
        return lambda x: forward(x, self.draw_style(x) if style is None else style)

    def generator_loss(self, x: Tensor, sources: dict[str, Tensor]) -> dict[str, Tensor]:
        """Adversarial, cycle (||F(G(a)) - a||_1 + ||G(F(b)) - b||_1), identity (||F(a) - a||_1 + ...) and the
        terms'."""
        c = self.config
        terms = zeros(("adv", "cycle", "identity", *self.term_names()), x)
        fakes: dict[str, Tensor] = {}
        for direction, src in sources.items():
            if len(src):  # a batch without this domain has no terms for it
                terms = add_values(terms, self._direction_terms(direction, src, fakes))
        self.keep_fakes(x, fakes)
        loss = c.adv_weight * terms["adv"] + c.cycle_weight * (terms["cycle"] + c.identity_ratio * terms["identity"])
        return {"loss": loss + self.terms_loss(terms), **{k: v.detach() for k, v in terms.items()}}

    def _direction_terms(self, direction: str, src: Tensor, fakes: dict[str, Tensor]) -> dict[str, Tensor]:
        """One direction's unweighted terms: GAN on its translation, the cycle back, identity, the terms'."""
        forward, backward, critic = self.nets(direction)
        style, own = self.draw_style(src), self.own_style(src, domain_indices(direction)[0])
        features = forward.trunk(src)  # one trunk, rendered in two styles by mode seeking
        fake = fakes[direction] = forward.render(features, style)
        terms = {"adv": self.objective.generator(critic(fake)), "cycle": (backward(fake, own) - src).abs().mean()}
        if self.config.identity_ratio:  # the backward generator maps into src's domain: it should leave src alone
            terms["identity"] = (backward(src, own) - src).abs().mean()
        return {**terms, **self.term_values(direction, src, fake, style, lambda other: forward.render(features, other))}

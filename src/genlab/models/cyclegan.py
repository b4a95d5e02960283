"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation with cycle-consistency."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import Tensor, nn

from ..errors import GenlabError
from ..nn.resnet import PatchDiscriminator, ResnetGenerator, patch_layers
from .registry import register
from .semantic import SemanticConfig
from .style import StyleConfig
from .translator import (DIGITS_PRESET, PHOTO_PRESET, SEMANTIC_DIGITS, STYLE_DIGITS, TwoWayTranslator,
                         check_direction_name, domain_indices)

PAPER_OPTIMIZER = ["train.lr=2e-4", "train.betas=0.5,0.999", "train.lr_schedule=linear_decay"]


@dataclass
class CycleGANConfig(StyleConfig, SemanticConfig):
    """Two ResNet generators, two PatchGANs and the loss weights; 0 / -1 fields are filled from the data."""

    image_size: int = 0
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
    translations drawn through a history pool. With model.style_dim > 0 each generator also takes a target style
    (drawn from N(0, I) to translate; read from the image by the source domain's encoder for the cycle and
    identity terms) and style_weight * |E(G(x, s)) - s| is added (MUNIT's style reconstruction).
    """

    Config = CycleGANConfig
    train_defaults = PAPER_OPTIMIZER + ["train.batch_size=8", "train.grid_size=16"]
    presets = {
        "tiny": ["model.g_width=4", "model.g_blocks=1", "model.d_width=4", "model.d_layers=2"],  # tests
        "digits": ["model.g_width=32", "model.g_blocks=3", *DIGITS_PRESET],
        "digits-cycada": ["model.g_width=32", "model.g_blocks=3", *DIGITS_PRESET, *SEMANTIC_DIGITS],
        "digits-style": ["model.g_width=32", "model.g_blocks=3", *DIGITS_PRESET, *STYLE_DIGITS,
                         "model.diversity_weight=1"],
        "photo": ["model.g_width=64", "model.g_blocks=9", *PHOTO_PRESET],
    }

    def __init__(self, config: CycleGANConfig):
        super().__init__(config)
        c = config
        if c.d_layers <= 0 or c.adv_weight < 0:
            raise GenlabError("model config is unresolved: image_size/channels come from the data")
        if min(c.cycle_weight, c.identity_ratio) < 0:
            raise GenlabError("model.cycle_weight and model.identity_ratio must be >= 0")
        self.gen_ab = ResnetGenerator(c.channels, c.image_size, c.g_width, c.g_blocks, c.style_dim)  # G: A -> B
        self.gen_ba = ResnetGenerator(c.channels, c.image_size, c.g_width, c.g_blocks, c.style_dim)  # F: B -> A
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
        """Both generators and the style encoders (paper: one Adam, lr 2e-4, betas (0.5, 0.999))."""
        styles = [] if self.styles is None else list(self.styles.parameters())
        return [*self.gen_ab.parameters(), *self.gen_ba.parameters(), *styles]

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
        """G for a2b, F for b2a; with style codes, in ``style`` (default: one drawn from N(0, I) per image)."""
        forward = self.nets(direction)[0]
        if self.styles is None:
            return forward
        return lambda x: forward(x, self.draw_style(x) if style is None else style)

    def generator_loss(self, x: Tensor, sources: dict[str, Tensor]) -> dict[str, Tensor]:
        """Adversarial, cycle (||F(G(a)) - a||_1 + ||G(F(b)) - b||_1), identity (||F(a) - a||_1 + ...) and, with
        style codes, style reconstruction terms."""
        c = self.config
        terms = dict.fromkeys(("adv", "cycle", "identity", *self.style_names()), x.new_zeros(()))
        fakes: dict[str, Tensor] = {}
        for direction, src in sources.items():
            if not len(src):  # a batch without this domain has no terms for it
                continue
            for name, value in self._direction_terms(direction, src, fakes).items():
                terms[name] = terms[name] + value
        self.keep_fakes(x, fakes)
        loss = c.adv_weight * terms["adv"] + c.cycle_weight * (terms["cycle"] + c.identity_ratio * terms["identity"])
        loss = loss + self.style_loss(terms)
        return self.with_semantic({"loss": loss, **{k: v.detach() for k, v in terms.items()}}, sources, fakes)

    def _direction_terms(self, direction: str, src: Tensor, fakes: dict[str, Tensor]) -> dict[str, Tensor]:
        """One direction's unweighted terms: GAN on its translation, the cycle back, identity, style."""
        forward, backward, critic = self.nets(direction)
        source, target = domain_indices(direction)
        style, own = self.draw_style(src), self.own_style(src, source)
        features = None if style is None else forward.trunk(src)  # styled: one trunk, rendered in two styles
        fake = fakes[direction] = forward(src) if features is None else forward.render(features, style)
        terms = {"adv": self.objective.generator(critic(fake)),
                 "cycle": (styled(backward, fake, own) - src).abs().mean()}
        if self.config.identity_ratio:  # the backward generator maps into src's domain: it should leave src alone
            terms["identity"] = (styled(backward, src, own) - src).abs().mean()
        return {**terms, **self.style_terms(fake, target, style, lambda other: forward.render(features, other))}


def styled(generator: Callable[..., Tensor], x: Tensor, style: Tensor | None) -> Tensor:
    """generator(x), or generator(x, style) for a translator with style codes."""
    return generator(x) if style is None else generator(x, style)

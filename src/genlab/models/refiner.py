"""SimGAN (Shrivastava et al. 2017): refine synthetic images so they look real yet keep their annotation."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..errors import GenlabError
from ..nn.resnet import PatchDiscriminator, RefinerNet
from .history import HistoryPool
from .registry import register
from .terms import add_values, zeros
from .terms.semantic import SEMANTIC_DIGITS, SemanticConfig
from .translator import Translator


@dataclass
class RefinerConfig(SemanticConfig):
    """A full-resolution ResNet refiner, a local (patch) discriminator and the loss weights; 0 fields are
    filled from the data. Domain A (label 0) is synthetic, domain B (label 1) real. Of the translator terms
    (models/terms) it takes the semantic consistency: it has no style codes."""

    image_size: int = 0  # 0 = the data's
    channels: int = 0  # 0 = the data's
    width: int = 64  # feature maps of the refiner (paper: 64)
    blocks: int = 4  # residual blocks of the refiner (paper: 4 for eyes, 10 for hands)
    d_width: int = 32  # width of the local discriminator's first layer
    d_layers: int = 1  # its stride-2 convs: 1 = 16x16-pixel patches (a 12x12 logit map at 28 px), 2 = 34x34
    objective: str = "nonsaturating"  # paper: cross-entropy per local patch; or lsgan | minimax | hinge
    self_reg: float = 1.0  # lambda of the L1 self-regularization ||R(x) - x||_1 (per-pixel mean on [-1, 1]);
    # 1 keeps digits' labels (see Refiner)
    pool_size: int = 256  # refined images kept for D updates (paper's history buffer); 0 = off
    warmup_steps: int = 200  # first steps: R on self-regularization alone, D already learning (paper: 1000)
    lr_g: float = 0.0  # 0 = train.lr
    lr_d: float = 0.0  # 0 = train.lr


def self_regularization(refined: Tensor, synthetic: Tensor) -> Tensor:
    """Shrivastava et al. (2017) Eq. 4 with psi = identity: ||R(x) - x||_1 as a per-pixel mean."""
    return (refined - synthetic).abs().mean()


DIGITS = [
    "model.width=32",
    "model.blocks=3",
    "model.d_width=32",
    "model.self_reg=0.1",
    "train.batch_size=64",
    "train.epochs=3",
    "data.limit=20000",
    "train.eval_images=500",
]


@register("refiner")
class Refiner(Translator):
    """Refiner R: synthetic (A) -> refined, against a local discriminator D of real (B) vs refined patches.

    Phase "g" minimizes GAN(R) + self_reg * ||R(x) - x||_1 (Eq. 4; the GAN term is off for the first
    ``warmup_steps``); phase "d" trains D on real images against refined ones, half of them from a
    history of earlier refiners once the pool is full (Sec. 2.3).

    self_reg = 1 (the default) balances a per-pixel mean L1 on [-1, 1] against a per-patch mean
    cross-entropy and keeps labels as the shipped MNIST classifier reads them (synthdigits -> MNIST, 2,000
    digits, one seed: raw 92.3%, refined 89.5%; FID to MNIST 20.5 -> 12.9). For training data the
    `digits` preset uses 0.1, which lets strokes move further towards handwriting: a classifier trained
    on 20,000 refined digits scores 80.3% on the MNIST test set with self_reg 0.1 and 74.7% with 1 (3 seeds;
    0.3 gave 78.4% on one seed), against 74.9% for the raw synthetic digits (docs/benchmarks.md).
    """

    Config = RefinerConfig
    directions = ("a2b",)
    train_defaults = ["train.lr=2e-4", "train.betas=0.5,0.999", "train.batch_size=32", "train.grid_size=16"]
    presets = {
        "tiny": [
            "model.width=4",
            "model.blocks=1",
            "model.d_width=4",
            "model.pool_size=4",
            "model.warmup_steps=1",
        ],  # tests
        "digits": DIGITS,
        "digits-cycada": [*DIGITS, *SEMANTIC_DIGITS],
    }

    def __init__(self, config: RefinerConfig):
        super().__init__(config)
        c = config
        if min(c.self_reg, c.pool_size, c.warmup_steps) < 0:
            raise GenlabError("model.self_reg, model.pool_size and model.warmup_steps must be >= 0")
        self.refiner = RefinerNet(c.channels, c.width, c.blocks)
        self.disc = PatchDiscriminator(c.channels, c.image_size, c.d_width, c.d_layers)
        self.pool = HistoryPool(c.pool_size)
        self._refined: tuple[Tensor, Tensor] | None = None  # phase g's refined images, for phase d

    def generator_parameters(self) -> list[nn.Parameter]:
        """R and the terms' trainable parts (Adam; the paper used SGD, Adam needs no per-dataset tuning here)."""
        return list(self.refiner.parameters()) + self.term_parameters()

    def discriminator_parameters(self) -> list[nn.Parameter]:
        """The local discriminator D."""
        return list(self.disc.parameters())

    def adversarial_weight(self) -> float:
        """0 while the refiner warms up on self-regularization alone, then 1."""
        return 0.0 if self.step < self.config.warmup_steps else 1.0

    def loss(self, batch: tuple[Tensor, Tensor], phase: str) -> dict[str, Tensor]:
        x, y = batch
        synthetic, real = x[y == 0], x[y == 1]
        return self.phase_loss(
            phase,
            {"g": lambda: self._refiner_loss(x, synthetic), "d": lambda: self._discriminator_loss(x, synthetic, real)},
        )

    def _refiner_loss(self, x: Tensor, synthetic: Tensor) -> dict[str, Tensor]:
        """GAN(R) on D's patch map of R(x), plus self_reg * ||R(x) - x||_1 and the terms'."""
        if not len(synthetic):  # a batch of real images only leaves the refiner nothing to learn
            zero = x.new_zeros((), requires_grad=True)
            return {"loss": zero, "adv": zero.detach(), "self_reg": zero.detach()}
        refined = self.refiner(synthetic)
        adv = self.objective.generator(self.disc(refined))
        reg = self_regularization(refined, synthetic)
        if self.training and torch.is_grad_enabled():
            self._refined = (x, refined.detach())
        loss = self.adversarial_weight() * adv + self.config.self_reg * reg
        terms = add_values(zeros(self.term_names(), x), self.term_values("a2b", synthetic, refined))
        return {
            "loss": loss + self.terms_loss(terms),
            "adv": adv.detach(),
            "self_reg": reg.detach(),
            **{k: v.detach() for k, v in terms.items()},
        }

    def _discriminator_loss(self, x: Tensor, synthetic: Tensor, real: Tensor) -> dict[str, Tensor]:
        """Real patches against refined ones (half from the history pool once it is full)."""
        cached, self._refined = self._refined, None
        if not len(synthetic) or not len(real):
            return {"loss": x.new_zeros((), requires_grad=True)}
        if cached is not None and cached[0] is x:
            refined = cached[1]
        else:
            with torch.no_grad():
                refined = self.refiner(synthetic)
        if self.training and torch.is_grad_enabled():
            refined = self.pool.query_half(refined)
        return {"loss": self.objective.discriminator(self.disc(real), self.disc(refined))}

    # -- resume: the pool is training state, not weights ----------------------------------------
    def resume_state(self) -> dict[str, Tensor]:
        """The history pool of refined images."""
        return {f"pool.{k}": v for k, v in self.pool.state().items()}

    def load_resume_state(self, state: dict[str, Tensor]) -> None:
        self.pool.load_state({k[len("pool.") :]: v for k, v in state.items() if k.startswith("pool.")})

    # -- inference ------------------------------------------------------------------------------
    def generator_for(self, direction: str, style: Tensor | None = None) -> nn.Module:
        """R for a2b (synthetic -> refined); there is no real -> synthetic map (and no style: R is
        deterministic)."""
        if direction != "a2b":
            raise GenlabError(f"a refiner only maps synthetic images to real-looking ones (a2b), not {direction}")
        return self.refiner

    @torch.no_grad()
    def pictures(self, images: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """Up to 16 synthetic test images beside their refined versions (rows: synthetic | refined)."""
        synthetic = images[labels.to(images.device) == 0][:16]
        return {"refinements": self.round_trip(synthetic, "a2b")} if len(synthetic) else {}

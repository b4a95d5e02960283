"""GANs (Goodfellow et al. 2014) and successors: one model, objective chosen per run, DCGAN or MLP nets."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import GenlabError
from ..losses import gradient_penalty, make_objective, r1_penalty, r2_penalty
from ..nn.dcgan import DCGANDiscriminator, DCGANGenerator
from ..nn.mlp import MLPCritic, MLPGenerator
from ..ops import per_sample
from ..optim import adam, update_ema, warmed_up_decay
from .base import GenerativeModel
from .registry import register


@dataclass
class GANConfig:
    """Networks, objective and training aids; 0 / auto fields are filled from the data and objective."""

    image_size: int = 0  # 0 = the data's
    channels: int = 0  # image channels, or the dimension of point data
    arch: str = "auto"  # auto | dcgan | mlp  (auto: mlp for point data, dcgan for images; mlp also for images)
    latent_dim: int = 100  # numbers in the generator's input code z ~ N(0, I)
    g_width: int = 64  # DCGAN ngf, or MLP hidden units
    d_width: int = 64  # DCGAN ndf, or MLP hidden units
    mlp_depth: int = 3  # hidden layers of the MLP generator (and critic)
    mlp_d_depth: int = 0  # hidden layers of the MLP critic; 0 = mlp_depth
    mlp_batch_norm: bool = False  # batch norm in the MLP generator's hidden layers (PacGAN's toy G)
    mlp_maxout: int = 1  # maxout pieces per hidden layer of the MLP critic; 1 = LeakyReLU (PacGAN's toy D: 5)
    mlp_dropout: float = 0.0  # dropout on the inputs of the maxout critic's layers (Goodfellow et al. 2014 use dropout)
    objective: str = "nonsaturating"  # minimax | nonsaturating | lsgan | hinge | wgan | wgan-gp | rpgan
    n_critic: int = 1  # D steps per G step, each on a fresh real batch and fresh noise
    lr_g: float = 0.0  # 0 = train.lr
    lr_d: float = 0.0  # 0 = train.lr
    gp_weight: float = -1.0  # gradient penalty lambda; -1 = 10 for wgan-gp, 0 otherwise
    r1_weight: float = 0.0  # R1 penalty gamma on real data (Mescheder et al. 2018)
    r2_weight: float = 0.0  # R2 penalty gamma on generated data (Mescheder et al. 2018; R3GAN uses both)
    clip: float = 0.01  # weight clipping of the plain WGAN critic
    spectral_norm: bool = False  # spectral normalization of D (Miyato et al. 2018)
    d_norm: str = "auto"  # batch | layer | none; auto: batch, but layer for penalties (no batch norm)
    pack: int = 1  # PacGAN: D judges `pack` samples at once (Lin et al. 2018)
    ema: float = 0.999  # EMA decay of the generator used for sampling (0 = off)
    conditional: bool = False  # class-conditional G and projection D
    num_classes: int = 0  # from the data when conditional


@register("gan")
class GAN(GenerativeModel):
    """Alternating updates of D (``n_critic`` times) and G on the objective's two losses."""

    Config = GANConfig
    phases = ("d", "g")
    presets = {
        "tiny": ["model.g_width=8", "model.d_width=8", "model.latent_dim=8"],  # tests
        "quick": ["train.epochs=2", "model.g_width=32", "model.d_width=32", "train.batch_size=64"],
        "dcgan": ["train.lr=2e-4", "train.betas=0.5,0.999", "train.batch_size=64"],
        "wgan-gp": ["model.objective=wgan-gp", "model.n_critic=5", "train.lr=1e-4", "train.betas=0,0.9"],
        "toy": [
            "model.latent_dim=2",
            "model.g_width=128",
            "model.d_width=128",
            "train.batch_size=256",
            "train.lr=1e-3",
            "train.betas=0.5,0.999",
            "train.epochs=10",
            "model.ema=0",
        ],
        # Goodfellow et al. (2014)'s MNIST nets (MLP G, maxout D with dropout), with Adam; docs/benchmarks.md
        "goodfellow": [
            "model.arch=mlp",
            "model.g_width=1200",
            "model.mlp_depth=2",
            "model.d_width=240",
            "model.mlp_maxout=5",
            "model.mlp_dropout=0.5",
            "train.lr=2e-4",
            "train.betas=0.5,0.999",
            "train.batch_size=100",
            "train.epochs=30",
        ],
        # 2-D mixtures, all modes sharp: minimax + R1 (Mescheder et al. 2018); docs/benchmarks.md "Mode coverage"
        "toy-r1": [
            "model.latent_dim=2",
            "model.g_width=256",
            "model.d_width=256",
            "train.batch_size=512",
            "train.lr=1e-3",
            "train.betas=0.5,0.999",
            "train.epochs=40",
            "model.ema=0",
            "model.objective=minimax",
            "model.r1_weight=0.1",
            "train.lr_schedule=cosine",
            "train.lr_min_ratio=0.01",
        ],
        # R3GAN's objective (Huang et al. 2024) on the DCGAN nets, 28-64 px: RpGAN + R1 + R2, no norm in D, Adam
        # betas (0, 0.99); gamma 1 from a CPU trial on MNIST (0.01-1 alike, 10 worse); width 32, the nets of that
        # trial and of the Stacked MNIST result (docs/benchmarks.md); README "Models"
        "r3gan": [
            "model.objective=rpgan",
            "model.g_width=32",
            "model.d_width=32",
            "model.r1_weight=1",
            "model.r2_weight=1",
            "model.d_norm=none",
            "train.lr=2e-4",
            "train.betas=0,0.99",
            "train.batch_size=64",
            "model.ema=0.999",
        ],
    }

    def __init__(self, config: GANConfig):
        super().__init__(config)
        c = config
        if c.channels <= 0 or c.arch == "auto" or c.d_norm == "auto" or c.gp_weight < 0:
            raise GenlabError("model config is unresolved: image_size/channels/arch come from the data")
        if not all(0 <= w < math.inf for w in (c.r1_weight, c.r2_weight)):  # NaN fails too
            raise GenlabError("model.r1_weight and model.r2_weight must be finite and >= 0 (0 = off)")
        if min(c.pack, c.n_critic, c.latent_dim, c.mlp_maxout, c.mlp_d_depth + 1) < 1:
            raise GenlabError(
                "model.pack, model.n_critic, model.latent_dim and model.mlp_maxout must be at least 1 "
                "and model.mlp_d_depth at least 0"
            )
        if not 0 <= c.mlp_dropout < 1 or (c.mlp_dropout and (c.arch != "mlp" or c.mlp_maxout < 2)):
            raise GenlabError("model.mlp_dropout must be in [0, 1) and needs model.arch=mlp with model.mlp_maxout > 1")
        if c.pack > 1 and c.conditional:
            raise GenlabError("model.pack > 1 cannot be combined with model.conditional")
        self.objective = make_objective(c.objective)
        self.points = c.image_size == 0
        self.generator, self.discriminator = self.build_networks(self.sample_shape())
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False) if c.ema > 0 else None
        self.step_phases = ("d",) * c.n_critic + ("g",)
        self.batches_per_step = c.n_critic  # Gulrajani et al. 2017, Alg. 1: a new real batch per critic step

    def sample_shape(self) -> tuple[int, ...]:
        """What G makes and D judges: (dims,) for points, (C, H, W) for images."""
        c = self.config
        return (c.channels,) if self.points else (c.channels, c.image_size, c.image_size)

    def build_networks(self, shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
        """G and D of the configured architecture for samples of ``shape``."""
        c = self.config
        classes = c.num_classes if c.conditional else 0
        if c.arch == "mlp":
            dims, image_shape = math.prod(shape), shape if len(shape) == 3 else ()
            return (
                MLPGenerator(c.latent_dim, dims, c.g_width, c.mlp_depth, classes, c.mlp_batch_norm, image_shape),
                MLPCritic(
                    dims * c.pack,
                    c.d_width,
                    c.mlp_d_depth or c.mlp_depth,
                    c.spectral_norm,
                    classes,
                    c.mlp_maxout,
                    c.mlp_dropout,
                ),
            )
        if c.arch != "dcgan":
            raise GenlabError(f"unknown GAN arch {c.arch!r}; use dcgan (images) or mlp (images or points)")
        if len(shape) != 3:
            raise GenlabError("model.arch=dcgan needs images; use model.arch=mlp for points")
        return (
            DCGANGenerator(c.latent_dim, shape[0], shape[1], c.g_width, classes),
            DCGANDiscriminator(shape[0] * c.pack, shape[1], c.d_width, c.d_norm, c.spectral_norm, classes),
        )

    @classmethod
    def resolve_config(cls, config: Any, data: Any, dataset: Any) -> None:
        """Sizes and label count from the data; norm and penalty weight from the objective."""
        config.channels = config.channels or dataset.channels
        config.image_size = config.image_size or (0 if dataset.is_points else dataset.image_size)
        if config.arch == "auto":
            config.arch = "mlp" if dataset.is_points else "dcgan"
        cls.resolve_objective(config)
        cls.resolve_classes(config, dataset)

    @staticmethod
    def resolve_objective(config: Any) -> None:
        """Gradient-penalty weight (10 for WGAN-GP) and D's norm (no batch norm under a penalty)."""
        if config.gp_weight < 0:
            config.gp_weight = 10.0 if config.objective == "wgan-gp" else 0.0
        if config.d_norm == "auto":
            config.d_norm = "layer" if config.gp_weight or config.r1_weight or config.r2_weight else "batch"

    def optimizers(self, train: Any) -> dict[str, torch.optim.Optimizer]:
        """Adam for D and for G, each with its own learning rate (TTUR, Heusel et al. 2017)."""
        betas = tuple(train.betas)
        return {
            "d": adam(self.discriminator.parameters(), self.config.lr_d or train.lr, betas),
            "g": adam(self.generator.parameters(), self.config.lr_g or train.lr, betas),
        }

    def prepare(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Images [0, 1] -> [-1, 1] (tanh range); points pass through."""
        return x if self.points else x * 2 - 1

    def _noise(self, n: int) -> Tensor:
        """Training noise for n samples (data-parallel processes draw their rows of the global batch's)."""
        return per_sample(lambda m: torch.randn(m, self.config.latent_dim, device=self.device), n)

    def _pack(self, x: Tensor) -> Tensor:
        """Group `pack` consecutive samples into one input along the feature/channel axis."""
        p = self.config.pack
        if p == 1:
            return x
        x = x[: len(x) - len(x) % p]
        return x.reshape(len(x) // p, p * x.shape[1], *x.shape[2:])

    def critic(self, x: Tensor, labels: Tensor | None) -> Tensor:
        """Discriminator logits for (packed) samples."""
        return self.discriminator(self._pack(x), labels)

    def loss(self, batch: tuple[Tensor, Tensor], phase: str) -> dict[str, Tensor]:
        x, y = batch
        labels = self.condition_labels(y, len(y))
        if phase == "d":
            return self._discriminator_loss(x, labels)
        fake_logits = self.critic(self.generator(self._noise(len(x)), labels), labels)
        if not self.objective.paired:
            return {"loss": self.objective.generator(fake_logits)}
        with torch.no_grad():  # D(x) is a constant for G: its gradient flows through D(G(z)) only
            real_logits = self.critic(x, labels)
        return {"loss": self.objective.generator(fake_logits, real_logits)}

    def _discriminator_loss(self, x: Tensor, labels: Tensor | None) -> dict[str, Tensor]:
        with torch.no_grad():
            fake = self.generator(self._noise(len(x)), labels)
        real_logits, fake_logits = self.critic(x, labels), self.critic(fake, labels)
        loss = self.objective.discriminator(real_logits, fake_logits)
        out = {"D(x)": self._score(real_logits), "D(G(z))": self._score(fake_logits)}
        if not torch.is_grad_enabled():  # evaluation: penalties are training regularizers only
            return {"loss": loss, **out}
        for name, (weight, penalty) in self._penalties(x, fake, labels).items():
            if weight:
                value = penalty()
                loss, out[name] = loss + weight * value, value.detach()
        return {"loss": loss, **out}

    def _penalties(
        self, x: Tensor, fake: Tensor, labels: Tensor | None
    ) -> dict[str, tuple[float, Callable[[], Tensor]]]:
        """D's regularizers by logged name: (weight, a function computing the penalty)."""
        c, critic = self.config, lambda h: self.critic(h, labels)
        return {
            "gp": (c.gp_weight, lambda: gradient_penalty(critic, x, fake)),
            "r1": (c.r1_weight, lambda: r1_penalty(critic, x)),
            "r2": (c.r2_weight, lambda: r2_penalty(critic, fake)),
        }

    def _score(self, logits: Tensor) -> Tensor:
        """D's mean verdict: a probability for log-odds objectives, the raw critic value otherwise."""
        return (torch.sigmoid(logits) if self.objective.probabilistic else logits).mean().detach()

    @torch.no_grad()
    def after_phase(self, phase: str, applied: Tensor | None = None) -> None:
        """Weight clipping after a plain-WGAN critic step; the generator EMA after a G step (unmoved when the
        step was skipped)."""
        if phase == "d" and self.config.objective == "wgan":
            for p in self.discriminator.parameters():
                p.clamp_(-self.config.clip, self.config.clip)
        if phase == "g" and self.generator_ema is not None:
            update_ema(self.generator_ema, self.generator, self.ema_decay(), applied)

    def compile_targets(self) -> list[str]:
        """Never D under a gradient penalty, R1 or R2: their double backward does not go through torch.compile."""
        penalized = self.config.gp_weight or self.config.r1_weight or self.config.r2_weight
        return [n for n in super().compile_targets() if not (penalized and n == "discriminator")]

    def diagnose(self, samples: Tensor, real: Tensor) -> list[str]:
        """Mode-collapse check: samples far less spread out than real data."""
        ratio = mean_pairwise_distance(samples[:256]) / max(mean_pairwise_distance(real[:256]), 1e-12)
        if ratio < 0.1:
            return [
                f"generator samples are nearly identical (spread {ratio:.2f} of the data's): mode collapse; "
                "try another objective (wgan-gp, hinge), model.pack=4 or a lower train.lr"
            ]
        return []

    def epoch_warnings(self, record: dict[str, Any]) -> list[str]:
        """A discriminator loss near zero means D always wins and G gets almost no gradient."""
        d_loss = record.get("train/d/loss")
        if self.objective.probabilistic and d_loss is not None and d_loss < 0.01:
            return [
                f"discriminator loss {d_loss:.4f} is near zero: D wins and G learns little; "
                "try model.objective=nonsaturating, spectral norm, or a lower model.lr_d"
            ]
        return []

    def ema_decay(self) -> float:
        """model.ema, warmed up over the first steps (genlab.optim.warmed_up_decay)."""
        return warmed_up_decay(self.config.ema, self.step)

    def sampling_generator(self) -> nn.Module:
        return self.generator_ema if self.generator_ema is not None else self.generator

    def generate(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """The generator's raw output for codes, through the EMA generator when there is one."""
        return self.sampling_generator()(z, self.condition_labels(labels, z.shape[0])).float()

    def render(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Codes -> images in [0, 1] (or points), differentiable in z."""
        out = self.generate(z, labels)
        return out if self.points else (out + 1) / 2

    @torch.no_grad()
    def decode(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """``render`` without a graph: what sampling and the samplers use."""
        return self.render(z, labels)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels: Tensor | None = None) -> Tensor:
        return self.decode(self.prior_sample(n, generator), labels)


def mean_pairwise_distance(x: Tensor) -> float:
    """Average Euclidean distance between distinct samples."""
    flat = x.flatten(1).float()
    n = len(flat)
    return float(torch.cdist(flat, flat).sum() / max(n * (n - 1), 1))

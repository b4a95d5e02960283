"""A GAN in the code space of a trained autoencoder or VAE (two-stage generation, like GMMN+AE, Li et al. 2015):
G maps noise to codes, D tells them from the codes of real images, the frozen decoder turns codes into images."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from ..errors import GenlabError
from .gan import GAN, GANConfig
from .latent import CODE_MODELS, check_coder_data, code_scale, coder_config
from .registry import build_model, register


@dataclass
class LatentGANConfig(GANConfig):
    """GAN options (MLP nets on codes) plus the autoencoder run whose codes and decoder it uses."""

    autoencoder: str = ""  # run folder of a trained autoencoder or vae
    autoencoder_config: dict = field(default_factory=dict)  # that run's config, copied so checkpoints stand alone


@register("latent-gan")
class LatentGAN(GAN):
    """GAN on standardized codes enc(x); samples are dec(G(z)) with the decoder frozen."""

    Config = LatentGANConfig
    pretrained = {"autoencoder": CODE_MODELS}  # its config is embedded and its weights loaded by genlab.runs
    # docs/benchmarks.md "Two-stage": non-saturating + a strong R1 (Mescheder et al. 2018) on standardized codes
    train_defaults = [
        "model.arch=mlp",
        "model.latent_dim=32",
        "model.g_width=512",
        "model.d_width=512",
        "model.objective=nonsaturating",
        "model.r1_weight=20",
        "model.ema=0.999",
        "train.batch_size=64",
        "train.lr=2e-4",
        "train.betas=0.5,0.999",
        "train.epochs=20",
        "train.lr_schedule=cosine",
        "train.lr_min_ratio=0.01",
    ]
    presets = {"tiny": ["model.g_width=16", "model.d_width=16", "model.latent_dim=4"]}

    def __init__(self, config: LatentGANConfig):
        self.coder_config = coder_config(config.autoencoder_config, "autoencoder")
        coder = self.coder_config.model
        if (config.channels, config.image_size) != (coder.channels, coder.image_size):
            raise GenlabError(
                "model.autoencoder_config must be the config of an autoencoder or vae run on images "
                "of model.channels x model.image_size pixels"
            )
        super().__init__(config)
        self.autoencoder = build_model(self.coder_config.model_name, coder).requires_grad_(False).eval()

    def sample_shape(self) -> tuple[int, ...]:
        """G makes codes: the autoencoder's latent size."""
        return (self.coder_config.model.latent_dim,)

    @classmethod
    def resolve_config(cls, config: Any, data: Any, dataset: Any) -> None:
        """Image size from the data, which must match the autoencoder run's (whose config genlab.runs embeds
        first); MLP nets on the codes."""
        coder = coder_config(config.autoencoder_config, "autoencoder").model
        check_coder_data(coder, config.autoencoder, dataset)
        if config.arch not in ("auto", "mlp"):
            raise GenlabError("a latent-gan uses MLP nets on codes: model.arch must be mlp")
        config.arch, config.channels, config.image_size = "mlp", coder.channels, coder.image_size
        cls.resolve_objective(config)
        cls.resolve_classes(config, dataset)

    def train(self, mode: bool = True) -> LatentGAN:
        """The autoencoder stays in eval mode: it is frozen."""
        super().train(mode)
        self.autoencoder.eval()
        return self

    def _code_stats(self) -> tuple[Tensor | float, Tensor | float]:
        """Mean and std that standardize the autoencoder's codes."""
        return code_scale(self.autoencoder)

    @torch.no_grad()
    def prepare(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Images [0, 1] -> standardized codes of the frozen encoder."""
        mean, std = self._code_stats()
        return (self.autoencoder.encode(self.autoencoder.prepare(x, generator)) - mean) / std

    def render(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Noise -> codes (through the EMA generator) -> the decoder's mean images in [0, 1], differentiable in z."""
        mean, std = self._code_stats()
        return self.autoencoder.render(self.generate(z, labels) * std + mean, labels)

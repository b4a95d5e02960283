"""Deterministic autoencoder; samples come from a Gaussian fitted to its codes (Ghosh et al. 2020)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .latent import LatentConfig, LatentImageModel
from .registry import register


@dataclass
class AutoencoderConfig(LatentConfig):
    """Autoencoder sizes; ``code_momentum`` tracks the code mean/variance used for sampling."""

    code_momentum: float = 0.01  # how fast the Gaussian fitted to the codes (used to sample) tracks them


@register("autoencoder")
class Autoencoder(LatentImageModel):
    """Minimize -log p(x | dec(enc(x))); no prior, so sampling uses an ex-post Gaussian on the codes."""

    Config = AutoencoderConfig
    presets = {
        "tiny": ["model.widths=8,16", "model.hidden=32", "model.latent_dim=4"],
        "quick": ["train.epochs=2", "model.widths=16,32", "model.hidden=256"],
    }

    def __init__(self, config: AutoencoderConfig):
        super().__init__(config)
        self.register_buffer("code_mean", torch.zeros(config.latent_dim))
        self.register_buffer("code_var", torch.ones(config.latent_dim))

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def loss(self, batch: tuple[Tensor, Tensor], phase: str) -> dict[str, Tensor]:
        x, y = batch
        z = self.encoder(x)
        if self.training:
            self._track_codes(z.detach().float())
        recon = -self.reconstruction_log_prob(z, x, y).mean()
        return {"loss": recon, "recon": recon}

    def _track_codes(self, z: Tensor) -> None:
        m = self.config.code_momentum
        self.code_mean.lerp_(z.mean(0), m)
        self.code_var.lerp_(z.var(0), m)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        eps = torch.randn(n, self.config.latent_dim, generator=generator).to(self.code_mean.device)
        return self.code_mean + self.code_var.sqrt() * eps

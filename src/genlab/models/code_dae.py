"""The learned code prior of PPGN-h (Nguyen et al. 2017, Sec. 3.3): a denoising autoencoder R on the codes h of a
trained VAE or autoencoder, whose R(h) - h points up the codes' density (Alain & Bengio 2014: it estimates
sigma^2 d log p(h)/dh), so Plug & Play can walk by it instead of the model's N(0, I) or fitted normal prior."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from ..errors import GenlabError
from ..nn.mlp import mlp
from .base import GenerativeModel
from .latent import CODE_MODELS, check_coder_data, code_scale, coder_config
from .registry import build_model, register


@dataclass
class CodeDAEConfig:
    """The MLP, its corruption, and the autoencoder or VAE run whose codes it learns."""

    source: str = ""  # run folder of a trained autoencoder or vae
    source_config: dict = field(default_factory=dict)  # that run's config, copied so checkpoints stand alone
    hidden: int = 512  # width of the MLP that denoises codes
    depth: int = 2  # hidden layers
    noise_std: float = 0.3  # corruption std, in units of the codes' std per dimension
    latent_dim: int = 0  # the source's
    image_size: int = 0  # the source's (the data must match)
    channels: int = 0  # of the source run's images (filled from it)


@register("code-dae")
class CodeDAE(GenerativeModel):
    """R(h + noise_std * s * eps) ~ h on the frozen source's codes h = enc(x) (s: their std); score(h) = R(h) - h."""

    Config = CodeDAEConfig
    pretrained = {"source": CODE_MODELS}  # its config is embedded and its weights loaded by genlab.runs
    train_defaults = ["train.epochs=10", "train.batch_size=128", "train.lr=1e-3"]
    presets = {"tiny": ["model.hidden=16", "model.depth=1"]}

    def __init__(self, config: CodeDAEConfig):
        self.coder_config = coder_config(config.source_config, "source")
        if config.latent_dim != self.coder_config.model.latent_dim or config.depth < 1 or config.hidden < 1:
            raise GenlabError(
                "model config is unresolved (latent_dim comes from model.source) or model.depth / "
                "model.hidden is below 1"
            )
        if not config.noise_std > 0:
            raise GenlabError("model.noise_std must be positive (the corruption the autoencoder learns to undo)")
        super().__init__(config)
        self.source = build_model(self.coder_config.model_name, self.coder_config.model).requires_grad_(False).eval()
        self.net = mlp(config.latent_dim, config.hidden, config.depth, config.latent_dim)

    @classmethod
    def resolve_config(cls, config: Any, data: Any, dataset: Any) -> None:
        """Sizes from the source run, whose images the data must match."""
        coder = coder_config(config.source_config, "source").model
        check_coder_data(coder, config.source, dataset)
        config.latent_dim, config.image_size, config.channels = coder.latent_dim, coder.image_size, coder.channels

    def train(self, mode: bool = True) -> CodeDAE:
        """The source stays in eval mode: it is frozen."""
        super().train(mode)
        self.source.eval()
        return self

    @torch.no_grad()
    def prepare(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Images [0, 1] -> the frozen source's codes."""
        return self.source.encode(self.source.prepare(x, generator))

    def loss(self, batch: tuple[Tensor, Tensor], phase: str) -> dict[str, Tensor]:
        h = batch[0]
        noisy = h + self.config.noise_std * code_scale(self.source)[1] * torch.randn_like(h)
        return {"loss": (self.net(noisy) - h).pow(2).mean(), "noisy_mse": (noisy - h).pow(2).mean().detach()}

    def score(self, h: Tensor) -> Tensor:
        """R(h) - h: PPGN-h's prior term (Nguyen et al. 2017, Eq. 5 with the DAE as p(h))."""
        return self.net(h) - h

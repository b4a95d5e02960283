"""Shared machinery of latent-variable image models: conv encoder, transposed-conv decoder, likelihood."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..errors import GenlabError
from ..losses import make_likelihood
from ..nn import ConvDecoder, ConvEncoder
from ..nn.conditional import LabelConcat
from .base import GenerativeModel
from .registry import run_config

CODE_MODELS = ("autoencoder", "vae")  # the runs whose codes a two-stage model (latent-gan, code-dae) builds on


@dataclass
class LatentConfig:
    """Sizes of the encoder/decoder pair; image_size and channels 0 = take them from the data."""

    image_size: int = 0  # 0 = the data's
    channels: int = 0  # 0 = the data's
    widths: tuple[int, ...] = (32, 64)  # channels of the stride-2 conv stages (encoder; mirrored by the decoder)
    hidden: int = 512  # width of the fully connected layer between the convs and the code
    latent_dim: int = 16  # numbers in a code
    activation: str = "elu"  # elu | relu | leaky_relu | silu
    likelihood: str = "auto"  # auto | bernoulli | gaussian | gaussian_learned
    gaussian_std: float = 0.1  # std of the fixed-variance Gaussian likelihood
    conditional: bool = False  # class-conditional decoder p(x | z, y) (Sohn et al. 2015)
    num_classes: int = 0  # from the data when conditional


class LatentImageModel(GenerativeModel):
    """Encoder x -> code, decoder code -> likelihood parameters; subclasses define the objective."""

    code_multiplier = 1  # encoder outputs latent_dim * code_multiplier numbers

    def __init__(self, config: LatentConfig):
        super().__init__(config)
        if config.image_size <= 0 or config.channels <= 0 or config.likelihood == "auto":
            raise GenlabError("model config is unresolved: image_size/channels/likelihood come from the data")
        if not config.widths or min(config.widths) < 1 or config.latent_dim < 1:
            raise GenlabError("model.widths needs at least one positive width and model.latent_dim must be >= 1")
        c = config
        if not c.gaussian_std > 0:
            raise GenlabError("model.gaussian_std must be positive (the std of the Gaussian likelihood)")
        self.likelihood = make_likelihood(c.likelihood, c.gaussian_std)
        self.encoder = ConvEncoder(
            c.channels, c.image_size, c.widths, c.hidden, c.latent_dim * self.code_multiplier, c.activation
        )
        self.condition = LabelConcat(c.latent_dim, c.num_classes if c.conditional else 0)
        self.decoder = ConvDecoder(
            self.condition.out_dim,
            c.image_size,
            c.widths,
            c.hidden,
            self.likelihood.param_channels(c.channels),
            c.activation,
        )

    @classmethod
    def resolve_config(cls, config: Any, data: Any, dataset: Any) -> None:
        """Image size and channels from the dataset; Bernoulli for binarized data, else Gaussian."""
        resolve_image_likelihood(config, data, dataset, continuous="gaussian")
        cls.resolve_classes(config, dataset)

    @property
    def dims(self) -> int:
        """Number of pixel values per image (D in bits/dim)."""
        return self.config.channels * self.config.image_size**2

    def prepare(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.likelihood.prepare(x, generator)

    def decoder_params(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Likelihood parameters of p(x | z) (or p(x | z, y) when conditional)."""
        return self.decoder(self.condition(z, self.condition_labels(labels, z.shape[0])))

    def reconstruction_log_prob(self, z: Tensor, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """log p(x | z) per image."""
        return self.likelihood.log_prob(self.decoder_params(z, labels), x)

    def render(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Codes [B, latent_dim] -> mean images in [0, 1], differentiable in z; conditional models cycle classes
        without labels."""
        return self.likelihood.mean(self.decoder_params(z, labels)).float()

    @torch.no_grad()
    def decode(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """``render`` without a graph: what sampling and the samplers use."""
        return self.render(z, labels)

    @torch.no_grad()
    def reconstruct(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Images -> codes -> mean images."""
        return self.decode(self.encode(x), labels)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels: Tensor | None = None) -> Tensor:
        return self.decode(self.prior_sample(n, generator), labels)

    def encode(self, x: Tensor) -> Tensor:
        raise NotImplementedError


def resolve_image_likelihood(config: Any, data: Any, dataset: Any, continuous: str) -> None:
    """Image size and channels from the dataset (in place); likelihood auto: Bernoulli for binarized data, else
    ``continuous``; one clear line for a Bernoulli likelihood on data that is not binary."""
    config.image_size = config.image_size or dataset.image_size
    config.channels = config.channels or dataset.channels
    if config.likelihood == "auto":
        config.likelihood = "bernoulli" if data.binarize != "none" else continuous
    if config.likelihood == "bernoulli" and data.binarize == "none":
        raise GenlabError(
            "a Bernoulli likelihood needs binary data: set data.binarize=dynamic or static, "
            f"or use model.likelihood={continuous}"
        )


def coder_config(config_dict: dict, field: str) -> Any:
    """The run config of the frozen autoencoder or VAE a two-stage model builds on (embedded as ``<field>_config``);
    a clear line when it is missing or of another model."""
    if not config_dict:
        raise GenlabError(f"model.{field} must name a trained autoencoder or vae run")
    config = run_config(config_dict)
    if config.model_name not in CODE_MODELS:
        raise GenlabError(f"model.{field} must name an autoencoder or vae run, not a {config.model_name!r} run")
    return config


def check_coder_data(coder: Any, run: str, dataset: Any) -> None:
    """The data must have the image shape the frozen autoencoder or VAE (run folder ``run``) was trained on."""
    shape = "points" if dataset.is_points else f"{dataset.channels}x{dataset.image_size}x{dataset.image_size}"
    if shape != f"{coder.channels}x{coder.image_size}x{coder.image_size}":
        raise GenlabError(
            f"autoencoder {run} was trained on {coder.channels}x{coder.image_size}"
            f"x{coder.image_size} images; the data are {shape}"
        )


def code_scale(coder: Any) -> tuple[Tensor | float, Tensor | float]:
    """Mean and std of an autoencoder's or VAE's codes: the autoencoder's tracked code statistics, else 0 and 1 (a
    VAE's posterior means are already on the prior's scale)."""
    if hasattr(coder, "code_mean"):
        return coder.code_mean, coder.code_var.sqrt().clamp_min(1e-6)
    return 0.0, 1.0

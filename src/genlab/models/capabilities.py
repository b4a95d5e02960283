"""The abilities a model may have, as typing Protocols: code that needs one ability names it in its signature
(``def interpolate(model: Decoder, ...)``) and checks it at run time with ``model.require("decode", ...)``.

Every registered model is a ``Model``; which of the others it is depends on the methods it implements, which
``GenerativeModel.supports()`` reports (the base class only documents the optional methods).
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import Tensor


class Model(Protocol):
    """What every genlab model has: a registered name, its config, a device and the capability checks."""

    name: str
    config: Any

    @property
    def device(self) -> torch.device: ...

    def supports(self, method: str) -> bool: ...

    def require(self, method: str, purpose: str) -> None: ...


class Sampler(Model, Protocol):
    """Draws images from its prior: ``sample(n)`` -> [n, C, H, W] in [0, 1] (VAE, GAN, diffusion-like models)."""

    @property
    def num_classes(self) -> int: ...

    def sample(self, n: int, generator: torch.Generator | None = None, **options: Any) -> Tensor: ...


class Decoder(Sampler, Protocol):
    """Has a latent space it can decode: codes from ``prior_sample`` -> images (``render`` keeps the graph)."""

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> Tensor: ...

    def decode(self, z: Tensor, labels: Tensor | None = None, **options: Any) -> Tensor: ...

    def render(self, z: Tensor, labels: Tensor | None = None, **options: Any) -> Tensor: ...


class Encoder(Decoder, Protocol):
    """Also maps images to codes: ``encode(x)`` -> [B, latent_dim] (autoencoders, VAEs, UNIT)."""

    def encode(self, x: Tensor, **options: Any) -> Tensor: ...


class DiffusionSampler(Sampler, Protocol):
    """Samples by solving from noise with a denoiser D(x; sigma): ``denoise`` and the sampling options that
    ``use_sampling`` makes the defaults of ``sample`` (diffusion and flow-matching models)."""

    last_evaluations: int  # network evaluations of the last sample() call

    def denoise(self, x: Tensor, sigma: Tensor, labels: Tensor | None = None, guidance: float = 0.0) -> Tensor: ...

    def use_sampling(self, **choices: Any) -> Any: ...


class Translator(Model, Protocol):
    """Maps images of one domain to another: ``translate(images, direction)`` for each of its ``directions``."""

    directions: tuple[str, ...]

    def translate(self, images: Tensor, direction: str = "a2b", style: Tensor | None = None) -> Tensor: ...


class LikelihoodModel(Model, Protocol):
    """Scores images: importance weights log p(x, z_k) - log q(z_k | x) for the IWAE bound (Burda et al. 2016)."""

    def log_weights(self, x: Tensor, k: int) -> Tensor: ...

"""UNIT (Liu, Breuel & Kautz 2017): unsupervised image-to-image translation through a latent space shared by
two domains, each a VAE (encoder q(z|x), generator p(x|z)) and a GAN."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import GenlabError
from ..nn.resnet import (
    PatchDiscriminator,
    check_quarter_size,
    check_width,
    decode,
    down_layers,
    patch_layers,
    rename_on_load,
    residual_blocks,
    split_sequential_name,
    up_sampling,
)
from ..ops import DiagonalGaussian
from .cyclegan import DIGITS_PRESET, PHOTO_PRESET
from .registry import register
from .terms import TermsConfig, add_values, zeros
from .terms.semantic import SEMANTIC_DIGITS
from .terms.style import STYLE_DIGITS
from .translator import TwoWayTranslator, domain_indices

DOMAINS = ("a", "b")


@dataclass
class UNITConfig(TermsConfig):
    """Encoders, generators and discriminators per domain, the shared layers, and the loss weights (the paper's
    lambda_0..lambda_4, Sec. 3); 0 fields are filled from the data; the options of the translator terms
    (models/terms) come first."""

    image_size: int = 0  # 0 = the data's (a multiple of 4, at least 8)
    channels: int = 0  # both domains are converted to this many channels
    width: int = 64  # width of each encoder's first layer; the code has 4 * width channels at 1/4 size
    blocks: int = 4  # residual blocks in each encoder and in each generator
    shared_blocks: int = 1  # of those, the encoders' last and the generators' first, one copy for both domains
    d_width: int = 64  # width of the PatchGANs' first layer
    d_layers: int = 0  # stride-2 convs of the PatchGANs; 0 = auto: 3 from 64 px, else 2
    objective: str = "lsgan"  # lsgan | nonsaturating | minimax | hinge
    gan_weight: float = 10.0  # lambda_0
    kl_weight: float = 0.1  # lambda_1: KL(q(z|x) || N(0, I)) per code dimension
    recon_weight: float = 100.0  # lambda_2: L1 reconstruction (a Laplacian log-likelihood) per pixel
    cycle_kl_weight: float = 0.1  # lambda_3: KL of the translated image's code
    cycle_weight: float = 100.0  # lambda_4: L1 of the image translated there and back
    pool_size: int = 0  # translations kept for D updates; 0 = off (the paper has none)
    latent_dim: int = 0  # numbers in one code: 4 * width * (image_size / 4)^2, from the sizes
    lr_g: float = 0.0  # 0 = train.lr
    lr_d: float = 0.0  # 0 = train.lr


@register("unit")
class UNIT(TwoWayTranslator):
    """E_a, E_b -> shared code z -> G_a, G_b, with D_a, D_b. q(z|x) = N(E(x), I) (Sec. 3, so the KL is
    ||E(x)||^2 / 2); the encoders' last ``shared_blocks`` and the generators' first are one module each.

    Phase "g" minimizes, for each domain's images x (and the other domain t): lambda_1 KL(q(z|x)) + lambda_2
    |G_x(z) - x| + lambda_0 GAN(D_t(G_t(z))) + lambda_3 KL(q(z'|G_t(z))) + lambda_4 |G_x(z') - x| (Eqs. 2-5, with
    the KL per code dimension and L1 per pixel as in the authors' code); phase "d" is TwoWayTranslator's. The
    terms add theirs (models/terms); with style codes each generator's up-sampling (``decoders``) also takes a
    style (MUNIT, Huang et al. 2018): drawn for a translation, read by the domain's encoder for its own
    reconstructions.
    """

    Config = UNITConfig
    domains = DOMAINS
    train_defaults = ["train.lr=1e-4", "train.betas=0.5,0.999", "train.batch_size=8", "train.grid_size=16"]
    presets = {
        "tiny": ["model.width=4", "model.blocks=2", "model.d_width=4", "model.d_layers=2"],  # tests
        "digits": ["model.width=32", "model.blocks=2", *DIGITS_PRESET],  # the CycleGAN's discriminators and budget
        "digits-cycada": ["model.width=32", "model.blocks=2", *DIGITS_PRESET, *SEMANTIC_DIGITS],
        "digits-style": ["model.width=32", "model.blocks=2", *DIGITS_PRESET, *STYLE_DIGITS, "model.diversity_weight=5"],
        "photo": ["model.width=64", "model.blocks=4", *PHOTO_PRESET],
    }

    def __init__(self, config: UNITConfig):
        super().__init__(config)
        c = config
        check_quarter_size(c.image_size, "UNIT")
        check_width(c.width, c.blocks)
        if not 1 <= c.shared_blocks <= c.blocks:
            raise GenlabError(f"model.shared_blocks must be between 1 and model.blocks ({c.blocks})")
        if min(c.gan_weight, c.kl_weight, c.recon_weight, c.cycle_kl_weight, c.cycle_weight) < 0:
            raise GenlabError("UNIT's loss weights (model.*_weight) must be >= 0")
        if c.d_layers <= 0 or c.latent_dim != self.code_shape().numel():
            raise GenlabError("model config is unresolved: image_size/channels come from the data")
        code, own = 4 * c.width, c.blocks - c.shared_blocks
        self.encoders = nn.ModuleList(
            nn.Sequential(*down_layers(c.channels, c.width), *residual_blocks(code, own)) for _ in DOMAINS
        )
        self.shared_encoder = nn.Sequential(*residual_blocks(code, c.shared_blocks))
        self.shared_generator = nn.Sequential(*residual_blocks(code, c.shared_blocks))
        self.generators = nn.ModuleList(nn.Sequential(*residual_blocks(code, own)) for _ in DOMAINS)
        self.decoders = nn.ModuleList(up_sampling(c.width, c.channels, self.style_dim) for _ in DOMAINS)
        # runs saved before `decoders` held an unstyled generator's up-sampling after its own residual blocks
        rename_on_load(self, partial(renamed_generator_key, own_blocks=own))
        self.discriminators = nn.ModuleList(
            PatchDiscriminator(c.channels, c.image_size, c.d_width, c.d_layers) for _ in DOMAINS
        )

    @classmethod
    def resolve_config(cls, config: Any, data: Any, dataset: Any) -> None:
        """Sizes from the data; the PatchGAN depth from the size; the code size from the sizes."""
        super().resolve_config(config, data, dataset)
        check_quarter_size(config.image_size, "UNIT")
        config.d_layers = config.d_layers or patch_layers(config.image_size)
        config.latent_dim = 4 * config.width * (config.image_size // 4) ** 2

    def code_shape(self) -> torch.Size:
        """A code's shape: (4 * width, S/4, S/4)."""
        c = self.config
        return torch.Size((4 * c.width, c.image_size // 4, c.image_size // 4))

    def generator_parameters(self) -> list[nn.Parameter]:
        """Both encoders, both generators and the shared layers (once each), and the terms' trainable parts."""
        nets = (self.encoders, self.shared_encoder, self.shared_generator, self.generators, self.decoders)
        return [p for net in nets for p in net.parameters()] + self.term_parameters()

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return list(self.discriminators.parameters())

    def critic_for(self, direction: str) -> nn.Module:
        return self.discriminators[domain_indices(direction)[1]]

    # -- the shared latent space ----------------------------------------------------------------
    def posterior(self, x: Tensor, domain: int) -> DiagonalGaussian:
        """q(z | x) = N(E(x), I) for images x in [-1, 1] of ``domain`` (0 = A, 1 = B)."""
        mean = self.shared_encoder(self.encoders[domain](x)).float()
        return DiagonalGaussian(mean, torch.zeros_like(mean))

    def generate(self, z: Tensor, domain: int, style: Tensor | None = None) -> Tensor:
        """Code maps [B, 4w, S/4, S/4] -> images of ``domain`` in [-1, 1]; with style codes, in ``style``
        (default: the prior's mean, 0)."""
        features = self.generators[domain](self.shared_generator(z))
        if style is None and self.style_dim:
            style = z.new_zeros(len(z), self.style_dim)
        return decode(self.decoders[domain], features, style)

    def generator_for(self, direction: str, style: Tensor | None = None) -> Callable[[Tensor], Tensor]:
        """x -> G_t(E_s(x)): the posterior mean decoded into the other domain (with style codes, in ``style``,
        by default one drawn from N(0, I) per image)."""
        source, target = domain_indices(direction)
        return lambda x: self.generate(
            self.posterior(x, source).mean, target, self.draw_style(x) if style is None else style
        )

    # -- training ---------------------------------------------------------------------------------
    def generator_loss(self, x: Tensor, sources: dict[str, Tensor]) -> dict[str, Tensor]:
        """The VAE, GAN and cycle terms of both domains (Eqs. 2-5), and the terms'."""
        c = self.config
        weights = {
            "adv": c.gan_weight,
            "recon": c.recon_weight,
            "kl": c.kl_weight,
            "cycle": c.cycle_weight,
            "cycle_kl": c.cycle_kl_weight,
        }
        terms = zeros((*weights, *self.term_names()), x)
        fakes = {}
        for direction, src in sources.items():
            if len(src):  # a batch without this domain has no terms for it
                terms = add_values(terms, self._stream_terms(src, direction, fakes))
        self.keep_fakes(x, fakes)
        loss = sum(weights[name] * terms[name] for name in weights) + self.terms_loss(terms)
        return {"loss": loss, **{name: value.detach() for name, value in terms.items()}}

    def _stream_terms(self, src: Tensor, direction: str, fakes: dict[str, Tensor]) -> dict[str, Tensor]:
        """One domain's unweighted terms: its VAE, the GAN on its translation, the cycle back, and the terms'."""
        source, target = domain_indices(direction)
        q = self.posterior(src, source)
        z = q.rsample()
        style, own = self.draw_style(src), self.own_style(src, source)
        fake = fakes[direction] = self.generate(z, target, style)
        back = self.posterior(fake, target)
        terms = {
            "kl": per_dimension_kl(q),
            "recon": (self.generate(z, source, own) - src).abs().mean(),
            "adv": self.objective.generator(self.discriminators[target](fake)),
            "cycle_kl": per_dimension_kl(back),
            "cycle": (self.generate(back.rsample(), source, own) - src).abs().mean(),
        }
        return {**terms, **self.term_values(direction, src, fake, style, lambda other: self.generate(z, target, other))}

    # -- codes and samples ------------------------------------------------------------------------
    def domain_index(self, domain: str) -> int:
        """0 for "a", 1 for "b"; a clear line otherwise."""
        if domain not in DOMAINS:
            raise GenlabError(f"domain must be a or b, got {domain!r}")
        return DOMAINS.index(domain)

    def encode(self, x: Tensor, domain: str = "a") -> Tensor:
        """Images in [-1, 1] of ``domain`` -> flat shared codes [B, latent_dim] (the posterior means)."""
        return self.posterior(x, self.domain_index(domain)).mean.flatten(1)

    def render(self, z: Tensor, labels: Tensor | None = None, domain: str = "a", style: Tensor | None = None) -> Tensor:
        """Flat codes [B, latent_dim] -> images of ``domain`` in [0, 1], differentiable in z (with style codes:
        in ``style``, by default the style prior's mean)."""
        maps = z.reshape(len(z), *self.code_shape())
        return ((self.generate(maps, self.domain_index(domain), style) + 1) / 2).float()

    @torch.no_grad()
    def decode(self, z: Tensor, labels: Tensor | None = None, domain: str = "a") -> Tensor:
        """``render`` without a graph."""
        return self.render(z, labels, domain)

    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, labels: Tensor | None = None, domain: str = "a"
    ) -> Tensor:
        """n images of ``domain`` decoded from N(0, I) codes (and, with style codes, N(0, I) styles)."""
        codes = self.prior_sample(n, generator)
        return self.render(codes, domain=domain, style=self.draw_style(codes, generator))

    @torch.no_grad()
    def decode_pair(self, z: Tensor) -> Tensor:
        """[B, 2, C, H, W]: each code decoded into domain A and into domain B (the shared latent space)."""
        return torch.stack([self.decode(z, domain=d) for d in DOMAINS], 1)

    @torch.no_grad()
    def pictures(self, images: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """The round trips both ways, and 8 prior codes decoded into both domains."""
        codes = self.prior_sample(8, torch.Generator().manual_seed(0))
        return {**super().pictures(images, labels), "samples_paired": self.decode_pair(codes).cpu()}


def renamed_generator_key(key: str, own_blocks: int) -> str:
    """A key of the layout before ``decoders`` held every up-sampling -> the current key: an unstyled generator's
    layers after its ``own_blocks`` residual blocks (``generators.D.i``, i >= own_blocks) are ``decoders.D``'s."""
    for d in range(len(DOMAINS)):
        key = split_sequential_name(key, f"generators.{d}", f"generators.{d}", own_blocks, f"decoders.{d}")
    return key


def per_dimension_kl(q: DiagonalGaussian) -> Tensor:
    """KL(q || N(0, I)) per code dimension, averaged over the batch."""
    return q.kl().mean() / q.mean[0].numel()

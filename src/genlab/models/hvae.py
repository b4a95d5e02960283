"""Hierarchical VAE with top-down inference (Sonderby et al. 2016; Kingma et al. 2016; Vahdat & Kautz 2020, NVAE):
groups of spatial latents, each conditioned on the ones above, posteriors parametrised relative to their priors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import GenlabError
from ..losses import make_likelihood
from ..losses.kl import free_bits_kl, linear_warmup
from ..nn.hierarchical import CELLS, LatentGroup, cell_stack
from ..nn.spectral import SpectralPenalty
from ..ops import DiagonalGaussian, log_mean_exp
from .base import GenerativeModel
from .latent import resolve_image_likelihood
from .registry import register

Visit = tuple[DiagonalGaussian, DiagonalGaussian, Tensor]  # (the distribution z was drawn from, the prior, z)


@dataclass
class HVAEConfig:
    """Sizes of the bottom-up and top-down paths, the latent groups, and the objective's regularisers."""

    image_size: int = 0  # 0 = the data's
    channels: int = 0  # 0 = the data's
    likelihood: str = "auto"  # auto (bernoulli on binarized data, else logistic_mixture) | bernoulli | logistic_mixture
    mixtures: int = 10  # components of the discretized logistic mixture (Salimans et al. 2017)
    width: int = 32  # channels of every residual cell
    scales: int = 2  # resolutions of latent groups: image_size / 2, / 4, ... (image_size must divide by 2^scales)
    groups: tuple[int, ...] = (4, 2)  # latent groups per scale, from the coarsest; one number = the same on every scale
    latent_channels: int = 8  # channels of each group's spatial latent
    cells: int = 1  # residual cells per group, in each path
    cell: str = "plain"  # plain (BN-Swish-conv3x3 twice) | separable (NVAE's depthwise 5x5 cell)
    squeeze_excite: bool = True  # gate every cell by squeeze-and-excitation (Hu et al. 2018)
    top_prior: str = "learned"  # learned (a trained Gaussian on the top group) | standard (N(0, I))
    residual_posterior: bool = True  # q = N(mu_p + dmu, (sigma_p dsigma)^2) (NVAE Eq. 2); false: q on its own
    kl_warmup_steps: int = 0  # anneal the KL weight linearly from 0 to 1 (Sonderby et al. 2016)
    free_bits: float = 0.0  # nats each group's batch-mean KL is held at in the loss (Kingma et al. 2016); 0 = off
    spectral_reg: float = 0.0  # weight of the bottom-up convs' largest singular values in the loss (NVAE Sec. 3.2)
    iw_samples: int = 1  # k > 1 trains on the IWAE bound (Burda et al. 2016, Eq. 8): no KL warm-up or free bits then


@register("hvae")
class HVAE(GenerativeModel):
    """p(x, z) = p(z_1) prod_l p(z_l | z_<l) p(x | z); q(z | x) = prod_l q(z_l | z_<l, x), l in top-down order."""

    Config = HVAEConfig
    presets = {
        "tiny": ["model.width=8", "model.groups=1", "model.latent_channels=2", "model.mixtures=2"],  # tests
        "quick": ["train.epochs=5", "model.width=24", "model.groups=2,1", "train.lr=2e-3"],
        # the likelihood benchmark on dynamically binarized MNIST, sized for one CPU core (about 3 h)
        "nll": [
            "train.epochs=40",
            "model.width=32",
            "model.groups=4,2",
            "model.latent_channels=8",
            "train.batch_size=128",
            "train.lr=2e-3",
            "train.lr_schedule=cosine",
            "train.lr_min_ratio=0.01",
            "model.kl_warmup_steps=4000",
            "model.free_bits=0.5",
            "train.grad_clip=500",  # gradient norms run at 100-300 nats per image once the first steps are past
            "train.grad_skip=5000",
        ],
    }

    def __init__(self, config: HVAEConfig):
        super().__init__(config)
        check_config(config)
        c, w = config, config.width
        self.likelihood = make_likelihood(c.likelihood, mixtures=c.mixtures)
        self.stem = nn.Sequential(nn.Conv2d(c.channels, w, 3, padding=1), nn.SiLU(), nn.Conv2d(w, w, 3, 2, 1))
        counts = group_counts(c)
        self.bottom_up = nn.ModuleList(
            nn.ModuleList(cell_stack(w, c.cells, c.cell, c.squeeze_excite) for _ in range(n)) for n in counts[::-1]
        )
        self.downs = nn.ModuleList(nn.Conv2d(w, w, 3, 2, 1) for _ in range(c.scales - 1))
        top = c.image_size // 2**c.scales
        self.top_state = nn.Parameter(torch.zeros(1, w, top, top))  # the top-down path's learned input
        self.top_down = nn.ModuleList(
            nn.ModuleList(
                LatentGroup(
                    w, c.latent_channels, c.cells, c.cell, c.squeeze_excite, s + g > 0 or c.top_prior == "learned"
                )
                for g in range(n)
            )
            for s, n in enumerate(counts)
        )
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(w, w, 3, padding=1))
            for _ in range(c.scales - 1)
        )  # between scales; the finest scale goes to full resolution through the head alone
        self.head = nn.Sequential(
            nn.SiLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(w, self.likelihood.param_channels(c.channels), 3, padding=1),
        )
        convs = [
            m for part in (self.stem, self.bottom_up, self.downs) for m in part.modules() if isinstance(m, nn.Conv2d)
        ]
        self.spectral = SpectralPenalty(convs) if c.spectral_reg > 0 else None
        self.temperature = 1.0  # of the prior when sampling (genlab sample --temperature)

    @classmethod
    def resolve_config(cls, config: Any, data: Any, dataset: Any) -> None:
        """Image size and channels from the dataset; Bernoulli for binarized data, else the logistic mixture."""
        resolve_image_likelihood(config, data, dataset, continuous="logistic_mixture")

    @property
    def dims(self) -> int:
        """Number of pixel values per image (D in bits/dim)."""
        return self.config.channels * self.config.image_size**2

    @property
    def group_shapes(self) -> list[tuple[int, int, int]]:
        """[channels, size, size] of each group's latent, in top-down order."""
        c, top = self.config, self.config.image_size // 2**self.config.scales
        return [(c.latent_channels, top * 2**s, top * 2**s) for s, scale in enumerate(self.top_down) for _ in scale]

    @property
    def latent_dim(self) -> int:
        """Numbers in a top-group code: what encode returns and decode, interpolation and traversal take."""
        channels, height, width = self.group_shapes[0]
        return channels * height * width

    def prepare(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.likelihood.prepare(x, generator)

    def features(self, x: Tensor) -> list[Tensor]:
        """The bottom-up path's output after each group's cells, in top-down order (the deepest first)."""
        h, out = self.stem(x), []
        for s, scale in enumerate(self.bottom_up):
            h = self.downs[s - 1](h) if s else h
            for cells in scale:
                h = cells(h)
                out.append(h)
        return out[::-1]

    def descend(self, n: int, features: list[Tensor] | None = None, draw: Any = None) -> tuple[Tensor, list[Visit]]:
        """The top-down path for n images: z_l from q(z_l | z_<l, x) given bottom-up features, else from the prior
        p(z_l | z_<l); z_l = draw(l, that distribution), by default a reparametrized sample. Returns the likelihood
        parameters and each group's visit."""
        h, visits, index = self.top_state.expand(n, -1, -1, -1), [], 0
        for s, scale in enumerate(self.top_down):
            for group in scale:
                prior = group.prior_of(h)
                q = prior
                if features is not None:
                    q = group.posterior_of(h, features[index], prior, self.config.residual_posterior)
                z = draw(index, q) if draw is not None else q.rsample()
                visits.append((q, prior, z))
                h = group.absorb(h, z)
                index += 1
            h = self.ups[s](h) if s < len(self.ups) else h
        return self.head(h), visits

    def group_kls(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """log p(x | z) per image with z ~ q(z | x), and the analytic KL(q(z_l | .) || p(z_l | .)) of each group
        at the sampled z_<l: shape [B, groups] (the ELBO is the first minus the row sums)."""
        params, visits = self.descend(x.shape[0], self.features(x))
        kls = torch.stack([q.kl(p) for q, p, _ in visits], dim=1)
        return self.likelihood.log_prob(params, x), kls

    def elbo_terms(self, x: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Per-image E_q[log p(x|z)] (one reparametrized sample) and the KL summed over groups."""
        recon, kls = self.group_kls(x)
        return recon, kls.sum(1)

    def kl_weight(self) -> float:
        """The KL term's weight, ramped linearly over the first kl_warmup_steps optimizer steps."""
        return linear_warmup(self.step, self.config.kl_warmup_steps)

    def loss(self, batch: tuple[Tensor, Tensor], phase: str) -> dict[str, Tensor]:
        """-(log p(x|z) - w sum_l max(KL_l, free bits)), or the negative IWAE bound with model.iw_samples > 1, plus
        the spectral penalty; ``elbo`` is always the true bound."""
        x, _ = batch
        recon, kls = self.group_kls(x)
        kl = kls.sum(1)
        out = {"recon": -recon.mean(), "kl": kl.mean(), "elbo": (recon - kl).mean()}
        k = self.config.iw_samples
        if k > 1:
            out["iwae"] = log_mean_exp(self.log_weights(x, k, rows=k * x.shape[0]), dim=1).mean()
            loss = -out["iwae"]
        else:
            loss = -recon.mean() + self.kl_weight() * free_bits_kl(kls, self.config.free_bits)
        if self.spectral is not None and self.training:
            out["spectral"] = self.spectral()
            loss = loss + self.config.spectral_reg * out["spectral"]
        return {"loss": loss, **out}

    def log_weights(self, x: Tensor, k: int, labels: Tensor | None = None, rows: int = 256) -> Tensor:
        """log p(x, z_i) - log q(z_i | x) for k posterior samples per image: [B, k]; the bottom-up path runs once
        per image, the top-down path in pieces of at most ``rows`` samples."""
        features, b = self.features(x), x.shape[0]
        per_piece = max(1, rows // b)
        pieces = []
        for start in range(0, k, per_piece):
            m = min(per_piece, k - start)
            params, visits = self.descend(b * m, [f.repeat(m, 1, 1, 1) for f in features])
            log_w = self.likelihood.log_prob(params, x.repeat(m, 1, 1, 1)).float()
            log_w = log_w + sum(p.log_prob(z) - q.log_prob(z) for q, p, z in visits)
            pieces.append(log_w.view(m, b).t())
        return torch.cat(pieces, dim=1)

    def posterior_groups(self, x: Tensor) -> list[Visit]:
        """Each group's (posterior, prior, sample) for images x: per-group KL and active units."""
        return self.descend(x.shape[0], self.features(x))[1]

    def encode(self, x: Tensor) -> Tensor:
        """The top group's posterior mean, flattened: the code interpolation and traversal move (the top-down path
        stops at its first group)."""
        h, top = self.top_state.expand(x.shape[0], -1, -1, -1), self.top_down[0][0]
        q = top.posterior_of(h, self.features(x)[0], top.prior_of(h), self.config.residual_posterior)
        return q.mean.flatten(1)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n top-group codes from its prior at the sampling temperature, flattened, drawn on the CPU generator."""
        shape = self.group_shapes[0]
        prior = self.top_down[0][0].prior_of(self.top_state.expand(n, -1, -1, -1))
        eps = torch.randn(n, *shape, generator=generator).to(self.device)
        return (prior.mean + self.temperature * prior.std * eps).flatten(1)

    @torch.no_grad()
    def decode(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Top-group codes -> mean images, every lower group at its prior mean (a deterministic path)."""
        top = z.view(-1, *self.group_shapes[0]).to(self.device)
        params, _ = self.descend(len(top), draw=lambda index, prior: top if index == 0 else prior.mean)
        return self.likelihood.mean(params).float()

    @torch.no_grad()
    def decode_noise(self, noise: list[Tensor]) -> Tensor:
        """Standard-normal noise of every group, top-down -> mean images, z_l = mu_l + sigma_l eps_l (scale eps by
        a temperature to sample at it): the exported top-down path."""
        params, _ = self.descend(noise[0].shape[0], draw=lambda index, prior: prior.mean + prior.std * noise[index])
        return self.likelihood.mean(params).float()

    def set_temperature(self, temperature: float) -> None:
        """The factor on every prior std when sampling (Vahdat & Kautz 2020 sample at 0.6-1.0)."""
        if not temperature >= 0:
            raise GenlabError(f"the temperature must be >= 0, got {temperature}")
        self.temperature = temperature

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels: Tensor | None = None) -> Tensor:
        """n images: every group drawn from its prior at ``self.temperature`` (noise from the CPU generator)."""
        noise = [self.temperature * torch.randn(n, *shape, generator=generator) for shape in self.group_shapes]
        return self.decode_noise([eps.to(self.device) for eps in noise])

    @torch.no_grad()
    def reconstruct(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Images -> every group at its posterior mean -> mean images."""
        params, _ = self.descend(x.shape[0], self.features(x), draw=lambda index, q: q.mean)
        return self.likelihood.mean(params).float()


def group_counts(config: HVAEConfig) -> tuple[int, ...]:
    """Groups on each scale, from the coarsest: ``model.groups``, one number repeated over every scale."""
    groups = tuple(config.groups)
    return groups * config.scales if len(groups) == 1 else groups


def check_config(c: HVAEConfig) -> None:
    """One clear line for sizes the network cannot have."""
    if c.image_size <= 0 or c.channels <= 0 or c.likelihood == "auto":
        raise GenlabError("model config is unresolved: image_size/channels/likelihood come from the data")
    if c.scales < 1 or c.image_size % 2**c.scales:
        raise GenlabError(
            f"model.scales={c.scales} needs an image size divisible by {2**c.scales} (got {c.image_size})"
        )
    if len(c.groups) not in (1, c.scales) or min(c.groups, default=0) < 1:
        raise GenlabError(f"model.groups needs one positive count, or one per scale ({c.scales}), coarsest first")
    if min(c.width, c.latent_channels, c.cells, c.mixtures) < 1:
        raise GenlabError("model.width, model.latent_channels, model.cells and model.mixtures must be >= 1")
    if c.cell not in CELLS or c.top_prior not in ("learned", "standard"):
        raise GenlabError(f"model.cell must be one of {', '.join(CELLS)} and model.top_prior learned or standard")
    if min(c.kl_warmup_steps, c.free_bits, c.spectral_reg) < 0 or c.iw_samples < 1:
        raise GenlabError(
            "model.kl_warmup_steps, model.free_bits, model.spectral_reg must be >= 0, model.iw_samples >= 1"
        )
    if c.iw_samples > 1 and (c.kl_warmup_steps or c.free_bits):
        raise GenlabError("model.iw_samples > 1 trains the IWAE bound, which has no KL warm-up or free bits")

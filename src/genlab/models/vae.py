"""Variational autoencoder (Kingma & Welling 2014) with beta, KL warm-up and an IWAE objective."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from ..errors import GenlabError
from ..losses.kl import linear_warmup
from ..ops import DiagonalGaussian, log_mean_exp
from .latent import LatentConfig, LatentImageModel
from .registry import register


@dataclass
class VAEConfig(LatentConfig):
    """VAE sizes and objective: beta-weighted ELBO (k=1) or the IWAE bound with k samples."""

    beta: float = 1.0  # weight of the KL term (Higgins et al. 2017); 1 = the ELBO
    kl_warmup_steps: int = 0  # anneal the KL weight linearly from 0 to beta (Sonderby et al. 2016)
    iw_samples: int = 1  # k > 1 trains on the IWAE bound (Burda et al. 2016, Eq. 8)


@register("vae")
class VAE(LatentImageModel):
    """q(z|x) = N(mu(x), diag sigma^2(x)), p(z) = N(0, I), p(x|z) from the decoder."""

    Config = VAEConfig
    code_multiplier = 2
    presets = {
        "tiny": ["model.widths=8,16", "model.hidden=32", "model.latent_dim=4"],  # tests
        # make demo: about two minutes on two CPU cores
        "quick": [
            "train.epochs=3",
            "model.widths=16,32",
            "model.hidden=256",
            "model.latent_dim=16",
            "train.batch_size=128",
            "train.lr=2e-3",
        ],
        # the likelihood benchmark (docs/benchmarks.md)
        "nll": [
            "train.epochs=100",
            "model.widths=32,64",
            "model.hidden=512",
            "model.latent_dim=32",
            "train.batch_size=128",
            "train.lr=1e-3",
            "train.lr_schedule=cosine",
            "train.lr_min_ratio=0.02",
            "model.kl_warmup_steps=4000",
        ],
    }

    def __init__(self, config: VAEConfig):
        super().__init__(config)
        if not (config.beta >= 0 and config.kl_warmup_steps >= 0 and config.iw_samples >= 1):
            raise GenlabError("model.beta and model.kl_warmup_steps must be >= 0 and model.iw_samples >= 1")
        if config.iw_samples > 1 and (config.beta != 1.0 or config.kl_warmup_steps):
            raise GenlabError("model.iw_samples > 1 trains the IWAE bound, which has no beta or KL warm-up")

    def posterior(self, x: Tensor) -> DiagonalGaussian:
        """q(z | x)."""
        return DiagonalGaussian.from_params(self.encoder(x).float())

    def encode(self, x: Tensor) -> Tensor:
        """The posterior mean, the usual deterministic code."""
        return self.posterior(x).mean

    def kl_weight(self) -> float:
        """beta, ramped linearly over the first kl_warmup_steps optimizer steps."""
        return self.config.beta * linear_warmup(self.step, self.config.kl_warmup_steps)

    def elbo_terms(self, x: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Per-image E_q[log p(x|z)] (one reparametrized sample) and analytic KL(q(z|x) || N(0, I))."""
        q = self.posterior(x)
        return self.reconstruction_log_prob(q.rsample(), x, labels), q.kl()

    def loss(self, batch: tuple[Tensor, Tensor], phase: str) -> dict[str, Tensor]:
        x, y = batch
        recon, kl = self.elbo_terms(x, y)
        elbo = (recon - kl).mean()
        out = {"recon": -recon.mean(), "kl": kl.mean(), "elbo": elbo}
        if self.config.iw_samples > 1:
            iwae = log_mean_exp(self.log_weights(x, self.config.iw_samples, y), dim=1).mean()
            return {"loss": -iwae, "iwae": iwae, **out}
        return {"loss": -(recon - self.kl_weight() * kl).mean(), **out}

    def log_weights(self, x: Tensor, k: int, labels: Tensor | None = None) -> Tensor:
        """log p(x, z_i) - log q(z_i | x) for k posterior samples per image: shape [B, k]."""
        q = self.posterior(x)
        batch = x.shape[0]
        mean = q.mean.repeat(k, 1)
        log_var = q.log_var.repeat(k, 1)
        qk = DiagonalGaussian(mean, log_var)
        z = qk.rsample()
        labels = labels.repeat(k) if labels is not None else None
        log_px = self.reconstruction_log_prob(z, x.repeat(k, 1, 1, 1), labels).float()
        log_pz = DiagonalGaussian.standard(z).log_prob(z)
        return (log_px + log_pz - qk.log_prob(z)).view(k, batch).t()

"""Diffusion and flow matching: one U-Net denoiser trained by the objective ``model.objective`` names (DDPM, flow
matching, EDM; genlab.losses.diffusion) and sampled by any solver (genlab.ops.diffusion), chosen at sampling time;
class labels with classifier-free guidance (Ho & Salimans 2021)."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import GenlabError
from ..losses.diffusion import make_diffusion_objective
from ..nn.unet import UNet
from ..ops import per_sample
from ..ops.diffusion import SOLVERS, Denoiser, flow_log_likelihood, karras_sigmas, solve
from ..optim import adam, update_ema, warmed_up_decay
from .base import GenerativeModel
from .registry import register

# a useful MNIST model on one CPU core; the quick preset's sizes (docs/models/diffusion.md)
# what the RGB presets share: attention down from 16 px, dropout, a slower EMA and Ho et al. 2020's learning rate
PHOTO = ["model.attention_size=16", "model.dropout=0.1", "model.ema=0.9999", "train.lr=2e-4"]
QUICK = ["model.widths=16,32,32", "model.blocks=1", "train.batch_size=64", "train.lr=1e-3", "train.epochs=2"]


@dataclass(frozen=True)
class Sampling:
    """How to sample: a solver of genlab.ops.diffusion, its number of noise levels, DDIM's eta and the weight w of
    classifier-free guidance."""

    sampler: str = "heun"
    steps: int = 18
    eta: float = 0.0
    guidance: float = 0.0


@dataclass
class DiffusionConfig:
    """The U-Net, the objective and its options, EMA, labels; the sampling fields are the defaults of
    ``sample()`` for whatever does not choose (genlab eval, cards, the studio; ``genlab sample`` overrides them)."""

    image_size: int = 0  # 0 = the data's
    channels: int = 0  # 0 = the data's
    objective: str = "edm"  # ddpm | flow | edm
    schedule: str = "linear"  # ddpm's betas: linear (Ho et al. 2020) | cosine (Nichol & Dhariwal 2021)
    timesteps: int = 1000  # ddpm's T
    sigma_data: float = 0.5  # edm: the data's standard deviation (Karras et al. 2022, Table 1)
    p_mean: float = -1.2  # edm: ln sigma ~ N(p_mean, p_std^2) in training
    p_std: float = 1.2  # edm: the spread of ln sigma in training (Karras et al. 2022, Table 1)
    widths: tuple[int, ...] = (64, 128, 128)  # U-Net channels per level (each level after the first halves the size)
    blocks: int = 2  # residual blocks per level
    attention_size: int = 8  # self-attention at levels of at most this many pixels a side (and in the middle)
    dropout: float = 0.0  # dropout in the U-Net's residual blocks (regularizes small data)
    ema: float = 0.999  # EMA decay of the denoiser used for sampling (0 = off)
    conditional: bool = False  # class labels, with classifier-free guidance
    num_classes: int = 0  # from the data when conditional
    label_dropout: float = 0.1  # share of training labels replaced by "no label" (Ho & Salimans 2021)
    sampler: str = "heun"  # ddpm | ddim | euler | heun | dpmpp-2m
    sampling_steps: int = 18  # noise levels (Heun: 2 * steps - 1 network evaluations)
    eta: float = 0.0  # ddim's eta (0: deterministic)
    guidance: float = 0.0  # classifier-free guidance weight w: (1 + w) D(x, y) - w D(x)


@register("diffusion")
class Diffusion(GenerativeModel):
    """Minimize the objective's denoising loss on data in [-1, 1]; sample by solving from pure noise with the EMA
    denoiser."""

    Config = DiffusionConfig
    presets = {
        "tiny": ["model.widths=8,16", "model.blocks=1", "model.sampling_steps=3"],  # tests
        "quick": QUICK,
        "mnist": ["model.widths=32,64,128", "train.batch_size=128", "train.lr=2e-4", "train.epochs=50"],
        # 32 px RGB folders (CIFAR-10 as PNGs): the widths and dropout of Ho et al. 2020, App. B (40.9 M here)
        "cifar": [
            "model.image_size=32",
            "model.widths=128,256,256,256",
            *PHOTO,
            "train.batch_size=128",
            "train.epochs=200",
        ],
        "photo": [
            "model.image_size=64",
            "model.widths=64,128,256,256",
            *PHOTO,
            "train.batch_size=32",
            "train.epochs=100",
        ],
    }

    def __init__(self, config: DiffusionConfig):
        super().__init__(config)
        c = config
        if c.channels <= 0 or c.image_size <= 0:
            raise GenlabError("model config is unresolved: image_size/channels come from the data")
        if not (0 <= c.ema < 1 and 0 <= c.label_dropout < 1 and 0 <= c.dropout < 1):
            raise GenlabError("model.ema, model.label_dropout and model.dropout must be in [0, 1)")
        self.objective = make_diffusion_objective(c)
        self.check_sampling(self.default_sampling())
        classes = c.num_classes if c.conditional else 0
        self.network = UNet(c.channels, c.image_size, c.widths, c.blocks, c.attention_size, c.dropout, classes)
        self.network_ema = copy.deepcopy(self.network).requires_grad_(False) if c.ema > 0 else None
        self.last_evaluations = 0  # network evaluations of the last sample() call
        self.guide: nn.Module | None = None  # a classifier steering samples (guide_with), none by default
        self.guide_scale = 1.0

    @classmethod
    def resolve_config(cls, config: Any, data: Any, dataset: Any) -> None:
        """Sizes and label count from the data; images only."""
        if dataset.is_points:
            raise GenlabError("diffusion models learn images; for 2-D points use gan or vae")
        config.channels = config.channels or dataset.channels
        config.image_size = config.image_size or dataset.image_size
        cls.resolve_classes(config, dataset)

    def optimizers(self, train: Any) -> dict[str, torch.optim.Optimizer]:
        """Adam over the denoiser (the EMA copy only follows it)."""
        return {"main": adam(self.network.parameters(), train.lr, train.betas)}

    def prepare(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Images [0, 1] -> [-1, 1] (Ho et al. 2020, Sec. 3.3)."""
        return x * 2 - 1

    def loss(self, batch: tuple[Tensor, Tensor], phase: str) -> dict[str, Tensor]:
        x, y = batch
        noise = per_sample(lambda m: torch.randn(m, *x.shape[1:], device=x.device), len(x))
        position = per_sample(lambda m: torch.rand(m, device=x.device), len(x))
        return {"loss": self.objective.loss(self.network, x, self.training_labels(y), noise, position).mean()}

    def training_labels(self, y: Tensor) -> Tensor | None:
        """The labels the denoiser sees: none when unconditional; in training, each replaced by the no-label index
        with probability model.label_dropout (Ho & Salimans 2021, Alg. 1)."""
        labels = self.condition_labels(y, len(y))
        if labels is None or not self.training or not self.config.label_dropout:
            return labels
        dropped = per_sample(lambda m: torch.rand(m, device=labels.device), len(labels)) < self.config.label_dropout
        return torch.where(dropped, torch.full_like(labels, self.num_classes), labels)

    @torch.no_grad()
    def after_phase(self, phase: str, applied: Tensor | None = None) -> None:
        """The EMA denoiser follows each step (unmoved when the step was skipped)."""
        if self.network_ema is not None:
            update_ema(self.network_ema, self.network, warmed_up_decay(self.config.ema, self.step), applied)

    def sampling_network(self) -> nn.Module:
        return self.network_ema if self.network_ema is not None else self.network

    def denoise(self, x: Tensor, sigma: Tensor, labels: Tensor | None = None, guidance: float = 0.0) -> Tensor:
        """D(x; sigma) of the EMA denoiser on the VE scale; with guidance w, (1 + w) D(x; sigma, y) - w D(x; sigma)
        (Ho & Salimans 2021, Eq. 6, on D, which is affine in the network's output)."""
        network = self.sampling_network()
        if not guidance or labels is None:
            return self.objective.denoise(network, x, sigma, labels)
        null = torch.full_like(labels, self.num_classes)
        both = self.objective.denoise(network, torch.cat([x, x]), torch.cat([sigma, sigma]), torch.cat([labels, null]))
        conditional, unconditional = both.chunk(2)
        return (1 + guidance) * conditional - guidance * unconditional

    def default_sampling(self) -> Sampling:
        c = self.config
        return Sampling(c.sampler, c.sampling_steps, c.eta, c.guidance)

    def use_sampling(self, **choices: Any) -> Sampling:
        """Make the given sampling options (None: keep) the defaults of ``sample()``, checked first."""
        chosen = self.sampling_of(choices)
        c = self.config
        c.sampler, c.sampling_steps, c.eta, c.guidance = chosen.sampler, chosen.steps, chosen.eta, chosen.guidance
        return chosen

    def check_sampling(self, sampling: Sampling) -> None:
        """One clear line for a sampler, step count, eta or guidance weight this model cannot use."""
        solver = SOLVERS.get(sampling.sampler)
        most = self.objective.max_native_steps if solver.schedule == "native" else None  # a discrete schedule's T
        if sampling.steps < 1 or (most and sampling.steps > most):
            bounds = f"in 1..{most}" if most else "at least 1"
            raise GenlabError(f"--steps must be {bounds} for {sampling.sampler}, got {sampling.steps}")
        if sampling.eta and not solver.takes_eta:
            raise GenlabError(f"--eta is for the ddim sampler, not {sampling.sampler}")
        if not 0 <= sampling.eta <= 1:
            raise GenlabError(f"--eta must be in [0, 1], got {sampling.eta}")
        if not (0 <= sampling.guidance < math.inf):
            raise GenlabError(f"--guidance must be a finite number >= 0, got {sampling.guidance}")
        if sampling.guidance and not self.num_classes:
            raise GenlabError("--guidance needs a class-conditional model (train with --set model.conditional=true)")

    def noise_levels(self, sampling: Sampling) -> Tensor:
        """The solver's noise levels: EDM's (rho = 7) between the objective's bounds, or the objective's own."""
        if SOLVERS.get(sampling.sampler).schedule == "karras":
            return karras_sigmas(sampling.steps, self.objective.sigma_min, self.objective.sigma_max)
        return self.objective.native_sigmas(sampling.steps)

    def denoiser(self, labels: Tensor | None, guidance: float) -> Denoiser:
        """D(x; sigma) for the solvers, with the labels and guidance of this call."""
        return lambda x, sigma: self.denoise(x, sigma, labels, guidance)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        labels: Tensor | None = None,
        observe: Callable[[Denoiser], Denoiser] | None = None,
        **choices: Any,
    ) -> Tensor:
        """n images in [0, 1]: pure noise sigma_max * z (z on the CPU generator) solved down to sigma = 0 by the
        chosen (else the default) sampler; the network evaluations it took go to ``last_evaluations``. ``observe``
        wraps the denoiser the solver calls (a recorder of the trajectory, say) without changing it."""
        sampling = self.sampling_of(choices)
        sigmas, c = self.noise_levels(sampling), self.config
        x = sigmas[0] * torch.randn(n, c.channels, c.image_size, c.image_size, generator=generator).to(self.device)
        return self._solve(x, sigmas, sampling, labels, generator, observe)

    def edit_levels(self, strength: float, sampling: Sampling | None = None) -> Tensor:
        """The noise levels SDEdit solves at ``strength``: the sampler's (else the default's) from the one a
        ``strength`` share of the way up, down to 0 (Meng et al. 2022, Alg. 1)."""
        if not 0 <= strength <= 1:
            raise GenlabError(f"--strength must be in [0, 1], got {strength}")
        sigmas = self.noise_levels(sampling or self.default_sampling())
        return sigmas[round((1 - strength) * (len(sigmas) - 1)) :]

    @torch.no_grad()
    def edit(
        self,
        images: Tensor,
        strength: float,
        generator: torch.Generator | None = None,
        labels: Tensor | None = None,
        **choices: Any,
    ) -> Tensor:
        """SDEdit (Meng et al. 2022, Alg. 1): images in [0, 1] noised to the level a ``strength`` share of the way
        up the sampler's noise levels, then solved down to sigma = 0: 0 keeps them, 1 draws new samples."""
        sampling = self.sampling_of(choices)
        sigmas = self.edit_levels(strength, sampling)
        x = images.to(self.device, torch.float32) * 2 - 1
        x = x + sigmas[0] * torch.randn(x.shape, generator=generator).to(self.device)
        return self._solve(x, sigmas, sampling, labels, generator)

    @torch.no_grad()
    def log_likelihood(self, images: Tensor, generator: torch.Generator | None = None, steps: int = 50) -> Tensor:
        """log P(images) [B] in nats of 8-bit images in [0, 1], bounded below by uniform dequantization: the
        probability-flow ODE's density of y = 2 (k + u) / 256 - 1 (Song et al. 2021, App. D.2) plus D log(2 / 256)
        (the volume of a pixel bin); ``steps`` Heun steps from sigma_min up to sigma_max."""
        levels = self.objective
        sigmas = karras_sigmas(steps, levels.sigma_min, levels.sigma_max)[:-1].flip(0)
        pixels = (images.to(self.device, torch.float32) * 255).round()
        noise = torch.rand(pixels.shape, generator=generator).to(self.device)
        y = 2 * (pixels + noise) / 256 - 1
        unlabelled = torch.full((len(y),), self.num_classes, device=self.device) if self.num_classes else None
        log_p = flow_log_likelihood(self.denoiser(unlabelled, 0.0), y, sigmas, generator)  # p(x), not p(x | y)
        return log_p + y[0].numel() * math.log(2 / 256)

    def sampling_of(self, choices: dict[str, Any]) -> Sampling:
        """The default sampling with the given options (None: keep), checked."""
        sampling = replace(self.default_sampling(), **{k: v for k, v in choices.items() if v is not None})
        self.check_sampling(sampling)
        return sampling

    def _solve(
        self,
        x: Tensor,
        sigmas: Tensor,
        sampling: Sampling,
        labels: Tensor | None,
        generator: torch.Generator | None,
        observe: Callable[[Denoiser], Denoiser] | None = None,
    ) -> Tensor:
        """x at sigmas[0] solved down the levels by the sampler (the network sees ``labels`` when conditional, a
        classifier guide steers to them); images in [0, 1]."""
        denoiser = self.guided(self.denoiser(self.condition_labels(labels, len(x)), sampling.guidance), labels)
        denoiser = denoiser if observe is None else observe(denoiser)
        x, self.last_evaluations = solve(sampling.sampler, denoiser, x, sigmas, generator, sampling.eta)
        return ((x + 1) / 2).clamp(0, 1)

    def guided(self, denoise: Denoiser, labels: Tensor | None) -> Denoiser:
        """With a classifier guide set (``guide_with``), D(x; sigma) + s sigma^2 grad_x log p(y | D(x; sigma)):
        the score of p(x | y) = p(x) p(y | x)^s (Dhariwal & Nichol 2021, Sec. 4) read on the denoised estimate."""
        if self.guide is None:
            return denoise
        if labels is None:
            raise GenlabError("classifier guidance needs --label (the class to steer to)")
        return classifier_guided(denoise, self.guide, labels.to(self.device), self.guide_scale)

    def guide_with(self, classifier: nn.Module | None, scale: float = 1.0) -> None:
        """Steer sampling with a classifier of images in [0, 1] (logits), weight ``scale``; None switches it off."""
        if classifier is not None and not scale > 0:
            raise GenlabError(f"--guide-scale must be > 0, got {scale}")
        self.guide, self.guide_scale = classifier, scale


def classifier_guided(denoise: Denoiser, classifier: nn.Module, labels: Tensor, scale: float) -> Denoiser:
    """Classifier guidance on the VE scale: the score (D - x) / sigma^2 plus s grad_x log p(y | x0-hat(x)), i.e.
    D + s sigma^2 grad (Dhariwal & Nichol 2021, Alg. 1; the gradient flows through the denoiser)."""

    def guided(x: Tensor, sigma: Tensor) -> Tensor:
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            denoised = denoise(x, sigma)
            logits = classifier(((denoised + 1) / 2).clamp(0, 1))
            chosen = logits.log_softmax(-1).gather(1, labels.view(-1, 1)).sum()
            (grad,) = torch.autograd.grad(chosen, x)
        return denoised.detach() + scale * sigma.view(-1, *[1] * (x.dim() - 1)) ** 2 * grad

    return guided

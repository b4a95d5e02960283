"""Diffusion and flow-matching objectives with one signature: how a network F is trained on noised data, and how
its output becomes a denoiser D(x; sigma) = c_skip x + c_out F(c_in x; c_noise) (Karras et al. 2022, Eq. 7 and
Table 1) on the variance-exploding scale x = x0 + sigma * n, where every sampler works."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import Tensor

from ..errors import GenlabError
from ..ops.diffusion import karras_sigmas
from ..registry import Registry

Network = Callable[[Tensor, Tensor, Tensor | None], Tensor]  # (input, noise level [B], labels or None) -> output
EMBEDDING_SCALE = 1000.0  # noise levels reach the network's sinusoidal embedding in about [0, 1000]


def per_sample(values: Tensor, like: Tensor) -> Tensor:
    """[B] values shaped [B, 1, ..., 1] to broadcast over ``like``'s other dimensions."""
    return values.reshape(-1, *[1] * (like.dim() - 1))


class DiffusionObjective:
    """A training loss on (network, clean x0, labels, noise n ~ N(0, I), u ~ U(0, 1) per sample) and the
    denoiser it implies; ``sigma_min``/``sigma_max`` bound the noise levels a sampler starts and ends at."""

    name: ClassVar[str] = ""
    sigma_min: float
    sigma_max: float
    max_native_steps: int | None = None  # most noise levels native_sigmas() can give (a discrete schedule's T)

    def __init__(self, config: Any):
        self.config = config

    def loss(self, network: Network, x0: Tensor, labels: Tensor | None, noise: Tensor, u: Tensor) -> Tensor:
        """Per-sample losses [B]."""
        raise NotImplementedError

    def scalings(self, sigma: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """c_skip, c_out, c_in and c_noise at noise levels sigma [B]."""
        raise NotImplementedError

    def native_sigmas(self, steps: int) -> Tensor:
        """The objective's own discretization of ``steps`` noise levels, descending, then 0."""
        return karras_sigmas(steps, self.sigma_min, self.sigma_max)

    def denoise(self, network: Network, x: Tensor, sigma: Tensor, labels: Tensor | None = None) -> Tensor:
        """D(x; sigma) at levels sigma [B]: the estimate of E[x0 | x0 + sigma n = x] (Karras et al. 2022, Eq. 7)."""
        c_skip, c_out, c_in, c_noise = self.scalings(sigma)
        output = network(per_sample(c_in, x) * x, c_noise, labels).float()
        return per_sample(c_skip, x) * x + per_sample(c_out, x) * output


def linear_betas(steps: int) -> Tensor:
    """Ho et al. 2020, Sec. 4: beta from 1e-4 to 0.02 over 1,000 steps (rescaled for other step counts as in
    Nichol & Dhariwal 2021)."""
    scale = 1000 / steps
    return torch.linspace(scale * 1e-4, scale * 0.02, steps, dtype=torch.float64)


def cosine_betas(steps: int, offset: float = 0.008) -> Tensor:
    """Nichol & Dhariwal 2021, Eq. 17: alpha_bar(t) = f(t) / f(0), f(t) = cos((t/T + s) / (1 + s) * pi/2)^2, betas
    clipped at 0.999."""
    t = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((t + offset) / (1 + offset) * math.pi / 2) ** 2
    return (1 - f[1:] / f[:-1]).clamp(max=0.999)


BETA_SCHEDULES: Registry[Callable[[int], Tensor]] = Registry("noise schedule (model.schedule)")
BETA_SCHEDULES.register("linear", linear_betas)
BETA_SCHEDULES.register("cosine", cosine_betas)
DIFFUSION_OBJECTIVES: Registry[type[DiffusionObjective]] = Registry("diffusion objective (model.objective)")


@DIFFUSION_OBJECTIVES.register("ddpm")
class EpsilonPrediction(DiffusionObjective):
    """Ho et al. 2020, Eq. 14: ||eps - eps_theta(sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, t)||^2 at t uniform in
    0..T-1; on the VE scale sigma_t = sqrt((1 - abar_t) / abar_t) and D = x - sigma eps_theta(x / sqrt(1 + sigma^2))
    (Karras et al. 2022, Table 1, VP)."""

    name = "ddpm"

    def __init__(self, config: Any):
        super().__init__(config)
        if config.timesteps < 2:
            raise GenlabError(f"model.timesteps must be at least 2, got {config.timesteps}")
        alpha_bar = torch.cumprod(1 - BETA_SCHEDULES.get(config.schedule)(config.timesteps), 0)
        self.log_sigmas = (0.5 * torch.log((1 - alpha_bar) / alpha_bar)).float()  # increasing in t
        self.sigma_min, self.sigma_max = self.log_sigmas[[0, -1]].exp().tolist()
        self.max_native_steps = config.timesteps

    def loss(self, network: Network, x0: Tensor, labels: Tensor | None, noise: Tensor, u: Tensor) -> Tensor:
        steps = len(self.log_sigmas)
        t = (u * steps).long().clamp(max=steps - 1)
        sigma = self.log_sigmas.to(x0.device)[t].exp()
        scale = per_sample(torch.rsqrt(1 + sigma**2), x0)  # sqrt(abar_t)
        predicted = network(scale * (x0 + per_sample(sigma, x0) * noise), t.float(), labels).float()
        return (predicted - noise).pow(2).flatten(1).mean(1)

    def scalings(self, sigma: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        return torch.ones_like(sigma), -sigma, torch.rsqrt(1 + sigma**2), self.timestep(sigma)

    def timestep(self, sigma: Tensor) -> Tensor:
        """The fractional t whose sigma_t is sigma: log sigma interpolated linearly between the grid's steps."""
        grid = self.log_sigmas.to(sigma.device)
        log_sigma = sigma.clamp_min(1e-12).log().clamp(grid[0], grid[-1])
        upper = torch.searchsorted(grid, log_sigma).clamp(1, len(grid) - 1)
        low, high = grid[upper - 1], grid[upper]
        return (upper - 1).float() + (log_sigma - low) / (high - low)

    def native_sigmas(self, steps: int) -> Tensor:
        """Song et al. 2021 (DDIM), Sec. 4.2: the training steps t_i uniformly spaced from T-1 to 0, then 0."""
        t = torch.linspace(len(self.log_sigmas) - 1, 0, steps).round().long()
        return torch.cat([self.log_sigmas[t].exp(), torch.zeros(1)])


@DIFFUSION_OBJECTIVES.register("flow")
class FlowMatching(DiffusionObjective):
    """Lipman et al. 2023 / Liu et al. 2023: x_t = (1 - t) x0 + t n, ||v_theta(x_t, t) - (n - x0)||^2 at t ~ U(0, 1);
    on the VE scale sigma = t / (1 - t) and D = x_t - t v_theta(x_t, t) with x_t = x / (1 + sigma)."""

    name = "flow"
    sigma_min, sigma_max = 0.002, 500.0

    def loss(self, network: Network, x0: Tensor, labels: Tensor | None, noise: Tensor, u: Tensor) -> Tensor:
        t = per_sample(u, x0)
        velocity = network((1 - t) * x0 + t * noise, EMBEDDING_SCALE * u, labels).float()
        return (velocity - (noise - x0)).pow(2).flatten(1).mean(1)

    def scalings(self, sigma: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        t = sigma / (1 + sigma)
        return 1 - t, -t, 1 - t, EMBEDDING_SCALE * t

    def native_sigmas(self, steps: int) -> Tensor:
        """t uniformly spaced from t(sigma_max) to t(sigma_min) (the Euler steps of Liu et al. 2023), then 0."""
        ends = [s / (1 + s) for s in (self.sigma_max, self.sigma_min)]
        t = torch.linspace(*ends, steps, dtype=torch.float64)
        return torch.cat([t / (1 - t), torch.zeros(1, dtype=torch.float64)]).float()


@DIFFUSION_OBJECTIVES.register("edm")
class EDMPreconditioning(DiffusionObjective):
    """Karras et al. 2022, Table 1 and Eq. 8: ln sigma ~ N(P_mean, P_std^2), loss lambda(sigma) ||D(x0 + sigma n;
    sigma) - x0||^2 with lambda = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2, c_skip = sigma_data^2 /
    (sigma^2 + sigma_data^2), c_out = sigma sigma_data / sqrt(sigma^2 + sigma_data^2), c_in = 1 / sqrt(sigma^2 +
    sigma_data^2), c_noise = ln(sigma) / 4."""

    name = "edm"
    sigma_min, sigma_max = 0.002, 80.0

    def __init__(self, config: Any):
        super().__init__(config)
        if not (config.sigma_data > 0 and config.p_std > 0 and math.isfinite(config.p_mean)):
            raise GenlabError("model.sigma_data and model.p_std must be positive and model.p_mean finite")

    def loss(self, network: Network, x0: Tensor, labels: Tensor | None, noise: Tensor, u: Tensor) -> Tensor:
        c = self.config
        normal = math.sqrt(2) * torch.erfinv(2 * u.clamp(1e-6, 1 - 1e-6) - 1)
        sigma = (c.p_mean + c.p_std * normal).exp()
        weight = (sigma**2 + c.sigma_data**2) / (sigma * c.sigma_data) ** 2
        denoised = self.denoise(network, x0 + per_sample(sigma, x0) * noise, sigma, labels)
        return weight * (denoised - x0).pow(2).flatten(1).mean(1)

    def scalings(self, sigma: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        data = self.config.sigma_data
        total = sigma**2 + data**2
        return data**2 / total, sigma * data / total.sqrt(), total.rsqrt(), EMBEDDING_SCALE / 4 * sigma.log()


def make_diffusion_objective(config: Any) -> DiffusionObjective:
    """The objective ``config.objective`` names, built from the config's fields it reads."""
    return DIFFUSION_OBJECTIVES.get(config.objective)(config)

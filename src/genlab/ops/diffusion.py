"""Solvers of the diffusion sampling equations on the variance-exploding scale x = x0 + sigma * n, each a pure
function of one signature over a denoiser D(x; sigma) (Karras et al. 2022, Sec. 3): they know no model and no
objective, so the same solver samples any objective's network, chosen at sampling time."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..registry import Registry

Denoiser = Callable[[Tensor, Tensor], Tensor]  # (x [B, ...], sigma [B]) -> estimate of x0, x's shape


def karras_sigmas(steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> Tensor:
    """Karras et al. 2022, Eq. 5: sigma_i = (sigma_max^(1/rho) + i/(N-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho
    for i < N, then sigma_N = 0."""
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64)
    top, bottom = sigma_max ** (1 / rho), sigma_min ** (1 / rho)
    return torch.cat([(top + ramp * (bottom - top)) ** rho, torch.zeros(1, dtype=torch.float64)]).float()


class CountedDenoiser:
    """A denoiser that counts its calls: the number of network evaluations a solver spent."""

    def __init__(self, denoise: Denoiser):
        self.denoise, self.calls = denoise, 0

    def __call__(self, x: Tensor, sigma: Tensor) -> Tensor:
        self.calls += 1
        return self.denoise(x, sigma)


def _steps(sigmas: Tensor) -> list[tuple[float, float]]:
    """Consecutive (sigma_i, sigma_i+1) pairs."""
    levels = sigmas.tolist()
    return list(zip(levels[:-1], levels[1:]))


def _at(denoise: Denoiser, x: Tensor, sigma: float) -> Tensor:
    """D(x; sigma) with sigma given to every sample."""
    return denoise(x, torch.full((len(x),), sigma, device=x.device, dtype=torch.float32))


def _slope(denoise: Denoiser, x: Tensor, sigma: float) -> Tensor:
    """dx/dsigma = (x - D(x; sigma)) / sigma, the probability-flow ODE (Karras et al. 2022, Eq. 3 with s = 1)."""
    return (x - _at(denoise, x, sigma)) / sigma


def euler(denoise: Denoiser, x: Tensor, sigmas: Tensor, generator: torch.Generator | None, eta: float) -> Tensor:
    """Euler steps of the probability-flow ODE: x <- x + (sigma_i+1 - sigma_i) dx/dsigma (Karras et al. 2022,
    Alg. 1 without its correction); one network evaluation per step."""
    for sigma, after in _steps(sigmas):
        x = x + (after - sigma) * _slope(denoise, x, sigma)
    return x


def heun(denoise: Denoiser, x: Tensor, sigmas: Tensor, generator: torch.Generator | None, eta: float) -> Tensor:
    """Heun's 2nd-order method (Karras et al. 2022, Alg. 1): an Euler step, then the mean of the slopes at both
    ends, except on the last step to sigma = 0; 2N - 1 network evaluations for N steps."""
    for sigma, after in _steps(sigmas):
        slope = _slope(denoise, x, sigma)
        predicted = x + (after - sigma) * slope
        if after > 0:
            predicted = x + (after - sigma) * (slope + _slope(denoise, predicted, after)) / 2
        x = predicted
    return x


def ddim(denoise: Denoiser, x: Tensor, sigmas: Tensor, generator: torch.Generator | None, eta: float) -> Tensor:
    """Song et al. 2021, Eq. 12 with sigma_t(eta) (Eq. 16), on the VE scale: x' = D + sqrt(sigma'^2 - up^2) (x - D)
    / sigma + up z with up = eta sigma' sqrt(1 - sigma'^2 / sigma^2); eta = 0 is deterministic (the Euler step),
    eta = 1 is DDPM's ancestral sampler. One network evaluation per step."""
    for sigma, after in _steps(sigmas):
        denoised = _at(denoise, x, sigma)
        up = eta * after * math.sqrt(max(0.0, 1 - (after / sigma) ** 2))
        x = denoised + math.sqrt(after**2 - up**2) * (x - denoised) / sigma
        if up > 0:
            x = x + up * torch.randn(x.shape, generator=generator).to(x.device)
    return x


def ddpm(denoise: Denoiser, x: Tensor, sigmas: Tensor, generator: torch.Generator | None, eta: float) -> Tensor:
    """Ho et al. 2020, Alg. 2: x_t-1 drawn from the posterior q(x_t-1 | x_t, x0 = D), variance beta-tilde; DDIM
    with eta = 1 (Song et al. 2021, Sec. 4.1), whatever ``eta`` says."""
    return ddim(denoise, x, sigmas, generator, 1.0)


def dpm_solver_2m(
    denoise: Denoiser, x: Tensor, sigmas: Tensor, generator: torch.Generator | None, eta: float
) -> Tensor:
    """DPM-Solver++(2M) (Lu et al. 2022, Alg. 2) with alpha = 1, lambda = -ln sigma: x' = (sigma'/sigma) x + (1 -
    sigma'/sigma) D_i with D_i = x0_i + (x0_i - x0_i-1) / (2 r_i), r_i = h_i-1 / h_i; first order on the first
    step and on the last one (to sigma = 0). One network evaluation per step."""
    previous, previous_h = None, 0.0
    for sigma, after in _steps(sigmas):
        denoised = _at(denoise, x, sigma)
        if after == 0:
            x = denoised
            continue
        h = math.log(sigma / after)
        blended = denoised if previous is None else denoised + (denoised - previous) * h / (2 * previous_h)
        x = (after / sigma) * x + (1 - after / sigma) * blended
        previous, previous_h = denoised, h
    return x


@dataclass(frozen=True)
class Solver:
    """A registered solver: its function, whether its noise levels are the objective's own (``native``) or EDM's
    (``karras``), and whether ``eta`` means anything to it."""

    run: Callable[[Denoiser, Tensor, Tensor, torch.Generator | None, float], Tensor]
    schedule: str  # native | karras
    takes_eta: bool = False


SOLVERS: Registry[Solver] = Registry("sampler")
SOLVERS.register("ddpm", Solver(ddpm, "native"))
SOLVERS.register("ddim", Solver(ddim, "native", takes_eta=True))
SOLVERS.register("euler", Solver(euler, "karras"))
SOLVERS.register("heun", Solver(heun, "karras"))
SOLVERS.register("dpmpp-2m", Solver(dpm_solver_2m, "karras"))


def solve(
    name: str, denoise: Denoiser, x: Tensor, sigmas: Tensor, generator: torch.Generator | None = None, eta: float = 0.0
) -> tuple[Tensor, int]:
    """Run solver ``name`` from x at sigmas[0] down (or up) the levels ``sigmas``: the result and the number of
    network evaluations it took."""
    counted = CountedDenoiser(denoise)
    return SOLVERS.get(name).run(counted, x, sigmas, generator, eta), counted.calls


def _drift_and_divergence(denoise: Denoiser, x: Tensor, sigma: float, probe: Tensor) -> tuple[Tensor, Tensor]:
    """dx/dsigma = (x - D(x; sigma)) / sigma and Hutchinson's estimate of its divergence, probe^T (df/dx) probe
    (Grathwohl et al. 2019), per sample."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        drift = _slope(denoise, x, sigma)
        (grad,) = torch.autograd.grad((drift * probe).sum(), x)
    return drift.detach(), (grad * probe).flatten(1).sum(1)


def flow_log_likelihood(
    denoise: Denoiser, x: Tensor, sigmas: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """log p(x) [B] in nats under the probability-flow ODE (Song et al. 2021, Sec. 4.3 and App. D.2): Heun steps
    carry x up the ascending levels ``sigmas`` while log p changes by the integral of the drift's divergence
    (one Rademacher probe per sample for the whole path); the end is scored under N(0, sigma_max^2 I)."""
    probe = torch.randint(0, 2, x.shape, generator=generator).to(x.device, x.dtype) * 2 - 1
    change = torch.zeros(len(x), dtype=torch.float64, device=x.device)
    for sigma, after in _steps(sigmas):
        drift, divergence = _drift_and_divergence(denoise, x, sigma, probe)
        predicted = x + (after - sigma) * drift
        drift_after, divergence_after = _drift_and_divergence(denoise, predicted, after, probe)
        x = x + (after - sigma) * (drift + drift_after) / 2
        change += (after - sigma) * (divergence + divergence_after).double() / 2
    top, d = float(sigmas[-1]), x[0].numel()
    prior = -0.5 * (x.double() / top).pow(2).flatten(1).sum(1) - d * (math.log(top) + 0.5 * math.log(2 * math.pi))
    return prior + change

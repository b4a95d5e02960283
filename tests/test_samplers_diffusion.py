"""The diffusion solvers (genlab.ops.diffusion) against known answers: driven by the exact denoiser of Gaussian data
(genlab.testing.gaussians) they must map N(0, sigma_max^2 I) to the data, the ODE solvers along the exact flow; and
the denoising trajectory of a tiny model's draw (genlab.samplers.diffusion), which must end at that draw's samples."""

from __future__ import annotations

import pytest
import torch

from genlab.errors import GenlabError
from genlab.ops.diffusion import SOLVERS, flow_log_likelihood, karras_sigmas, solve
from genlab.samplers import denoising_trajectory, frame_positions, sample_images, sample_with, seeded
from genlab.testing import tiny_model
from genlab.testing.gaussians import gaussian_denoiser, gaussian_flow_map, mixture_denoiser, nearest_component

SIGMA_MIN, SIGMA_MAX = 0.002, 80.0
MEAN, COV = torch.tensor([1.0, -2.0]), torch.tensor([[1.0, 0.6], [0.6, 0.5]])
MEANS, STDS = torch.tensor([[-3.0, 0.0], [3.0, 0.0], [0.0, 4.0]]), torch.tensor([0.3, 0.5, 0.4])
WEIGHTS = [0.2, 0.3, 0.5]
STEPS = {"ddpm": 200, "ddim": 100, "euler": 100, "heun": 40, "dpmpp-2m": 40}  # each well converged
ODE_SOLVERS = ("ddim", "euler", "heun", "dpmpp-2m")  # deterministic at eta = 0


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def start(n: int = 4000, seed: int = 0) -> torch.Tensor:
    """Pure noise at sigma_max."""
    return SIGMA_MAX * torch.randn(n, 2, generator=gen(seed))


def run(name: str, denoise, x: torch.Tensor, steps: int, seed: int = 1, eta: float = 0.0) -> tuple[torch.Tensor, int]:
    return solve(name, denoise, x, karras_sigmas(steps, SIGMA_MIN, SIGMA_MAX), gen(seed), eta)


def test_karras_levels_run_from_sigma_max_to_sigma_min_then_zero():
    sigmas = karras_sigmas(18, SIGMA_MIN, SIGMA_MAX)
    assert len(sigmas) == 19 and sigmas[-1] == 0
    assert sigmas[0].item() == pytest.approx(SIGMA_MAX) and sigmas[-2].item() == pytest.approx(SIGMA_MIN)
    assert (sigmas[1:] < sigmas[:-1]).all()
    ramp = sigmas[:-1] ** (1 / 7)  # Eq. 5: evenly spaced in sigma^(1/rho)
    assert torch.allclose(ramp.diff(), ramp.diff()[:1].expand(17), atol=1e-5)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_every_sampler_maps_noise_to_the_gaussian_it_denoises(name):
    x, _ = run(name, gaussian_denoiser(MEAN, COV), start(), STEPS[name])
    assert torch.allclose(x.mean(0), MEAN, atol=0.06), x.mean(0)
    assert torch.allclose(torch.cov(x.T), COV, atol=0.08), torch.cov(x.T)


def test_ddim_with_eta_one_samples_the_gaussian_too():
    x, _ = run("ddim", gaussian_denoiser(MEAN, COV), start(), 200, eta=1.0)
    assert torch.allclose(x.mean(0), MEAN, atol=0.06) and torch.allclose(torch.cov(x.T), COV, atol=0.08)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_every_sampler_keeps_the_weights_and_widths_of_a_mixture(name):
    x, _ = run(name, mixture_denoiser(MEANS, STDS, torch.tensor(WEIGHTS)), start(), STEPS[name])
    component = nearest_component(x, MEANS)
    shares = torch.bincount(component, minlength=3) / len(x)
    assert torch.allclose(shares, torch.tensor(WEIGHTS), atol=0.03), shares
    for k in range(3):
        assert torch.allclose(x[component == k].mean(0), MEANS[k], atol=0.06)
        assert x[component == k].std(0).mean().item() == pytest.approx(STDS[k].item(), rel=0.2)


@pytest.mark.parametrize("name, order", [("euler", 1), ("ddim", 1), ("heun", 2), ("dpmpp-2m", 2)])
def test_ode_solvers_follow_the_exact_flow_at_their_order(name, order):
    """The Gaussian's probability-flow ODE is solved in closed form; halving the step shrinks the error 2^order
    times (Karras et al. 2022, Sec. 3: Heun is 2nd order; Lu et al. 2022: DPM-Solver++(2M) too)."""
    x, exact, denoise = start(500), gaussian_flow_map(MEAN, COV, SIGMA_MAX), gaussian_denoiser(MEAN, COV)
    errors = [(run(name, denoise, x, steps)[0] - exact(x)).abs().max().item() for steps in (40, 80)]
    assert errors[0] / errors[1] == pytest.approx(2**order, rel=0.3), errors
    assert errors[1] < (0.2 if order == 1 else 0.02)


@pytest.mark.parametrize(
    "name, evaluations", [("ddpm", 18), ("ddim", 18), ("euler", 18), ("heun", 35), ("dpmpp-2m", 18)]
)
def test_network_evaluations_are_counted(name, evaluations):
    assert run(name, gaussian_denoiser(MEAN, COV), start(8), 18)[1] == evaluations  # EDM's Heun: 35 at 18 steps


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_every_sampler_is_reproducible_from_its_seed(name):
    denoise = gaussian_denoiser(MEAN, COV)
    a, b, c = (run(name, denoise, start(16), 10, seed=s)[0] for s in (3, 3, 4))
    assert torch.equal(a, b)
    assert torch.equal(a, c) == (name in ODE_SOLVERS)  # only the ancestral sampler draws noise on the way


def test_ddim_at_eta_zero_is_deterministic_and_inverts_to_its_noise():
    """Song et al. 2021, Sec. 5.4: run the eta = 0 steps backwards (sigma up) from data to noise and forwards
    again; with the exact denoiser the round trip returns where it started, up to the steps' first-order error."""
    denoise, noise, errors = gaussian_denoiser(MEAN, COV), start(256), []
    for steps in (200, 400):
        levels = karras_sigmas(steps, SIGMA_MIN, SIGMA_MAX)[:-1]  # no step to sigma = 0, which forgets the noise
        data, _ = solve("ddim", denoise, noise, levels, gen(0), 0.0)
        assert torch.equal(data, solve("ddim", denoise, noise, levels, gen(9), 0.0)[0])
        back, _ = solve("ddim", denoise, data, levels.flip(0), None, 0.0)
        errors.append(((back - noise).norm(dim=1) / noise.norm(dim=1)).max().item())
    assert errors[0] < 0.04 and errors[0] / errors[1] == pytest.approx(2, rel=0.2), errors


def test_an_unknown_sampler_is_one_line_listing_the_choices():
    with pytest.raises(GenlabError, match="unknown sampler 'rk4'; choose one of: .*heun") as info:
        solve("rk4", gaussian_denoiser(MEAN, COV), start(4), karras_sigmas(4, SIGMA_MIN, SIGMA_MAX))
    assert "\n" not in str(info.value)


def test_the_flow_likelihood_of_gaussian_data_is_its_density():
    """Song et al. 2021, App. D.2: the ODE's log-likelihood under the exact denoiser is the Gaussian's log density;
    Hutchinson's probe adds noise, not bias, so the mean error over points is within a few standard errors of 0."""
    gaussian = torch.distributions.MultivariateNormal(MEAN, COV)
    x = MEAN + torch.randn(2000, 2, generator=gen(4)) @ torch.linalg.cholesky(COV).T
    levels = karras_sigmas(60, SIGMA_MIN, SIGMA_MAX)[:-1].flip(0)
    runs = [flow_log_likelihood(gaussian_denoiser(MEAN, COV), x, levels, gen(seed)) for seed in range(4)]
    error = torch.stack(runs).mean(0) - gaussian.log_prob(x).double()
    assert abs(error.mean().item()) < 4 * error.std().item() / len(x) ** 0.5 + 0.005
    assert error.std().item() < 1.0  # each point's estimate is near its density, not only the mean


@pytest.fixture(scope="module")
def tiny_diffusion():
    """An untrained tiny diffusion model (3 Heun steps by default), in eval mode."""
    model, _ = tiny_model("diffusion")
    return model.eval()


@pytest.mark.parametrize("sampler, steps, evaluations", [("heun", 6, 11), ("ddpm", 5, 5), ("dpmpp-2m", 9, 9)])
def test_the_denoising_trajectory_ends_at_the_samples_of_its_seed(tiny_diffusion, sampler, steps, evaluations):
    model, options = tiny_diffusion, {"sampler": sampler, "steps": steps}
    path = denoising_trajectory(model, 3, seed=4, frames=5, **options)
    assert path.denoised.shape == path.noisy.shape == (3, 5, 1, 28, 28) and path.evaluations == evaluations
    drawn = model.sample(3, generator=seeded(4), **options).float().cpu()
    assert torch.equal(path.denoised[:, -1], drawn) and torch.equal(path.noisy[:, -1], drawn)
    assert torch.equal(path.denoised[:, -1], sample_with(model, 3, 4, **options))
    assert path.sigmas[0] == pytest.approx(model.objective.sigma_max, rel=1e-3) and path.sigmas[-1] == 0
    assert all(a > b for a, b in zip(path.sigmas, path.sigmas[1:]))  # one frame a noise level, noise to sample
    assert path.denoised.min() >= 0 and path.denoised.max() <= 1 and path.noisy.min() >= 0 and path.noisy.max() <= 1
    again, other = (denoising_trajectory(model, 3, seed=s, frames=5, **options) for s in (4, 5))
    assert torch.equal(again.denoised, path.denoised) and torch.equal(again.noisy, path.noisy)
    assert not torch.equal(other.denoised, path.denoised)


def test_the_trajectory_keeps_the_models_defaults_and_has_at_most_a_frame_a_level(tiny_diffusion):
    model = tiny_diffusion
    path = denoising_trajectory(model, 2, seed=1, frames=8)  # the tiny preset's 3 Heun steps: 3 levels, then 0
    assert len(path.sigmas) == 4 and path.denoised.shape[1] == 4
    assert torch.equal(path.denoised[:, -1], sample_images(model, 2, 1))
    assert (model.config.sampler, model.config.sampling_steps) == ("heun", 3)
    assert frame_positions(36, 8) == [0, 5, 10, 15, 20, 25, 30, 35] and frame_positions(3, 8) == [0, 1, 2]
    assert frame_positions(6, 5) == [0, 1, 3, 4, 5]  # rounded half up: never two frames at one position
    with pytest.raises(GenlabError, match="2 frames"):
        denoising_trajectory(model, 2, frames=1)
    with pytest.raises(GenlabError, match="not a diffusion model"):
        denoising_trajectory(tiny_model("vae")[0], 2)

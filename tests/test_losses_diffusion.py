"""The diffusion objectives (genlab.losses.diffusion): fed the ideal network of Gaussian data, derived here from each
paper's own parametrization, every objective's denoiser is the exact E[x0 | x]; its loss is smallest there; a
flow with the exact velocity field carries noise to the target mixture."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from genlab.errors import GenlabError
from genlab.losses.diffusion import DIFFUSION_OBJECTIVES, EMBEDDING_SCALE, cosine_betas, make_diffusion_objective
from genlab.ops.diffusion import karras_sigmas, solve
from genlab.testing.gaussians import gaussian_denoiser, mixture_denoiser, nearest_component

MEAN, COV = torch.tensor([0.5, -1.0]), torch.tensor([[0.3, 0.1], [0.1, 0.2]])
EXACT = gaussian_denoiser(MEAN, COV)


def config(objective: str, **changes) -> SimpleNamespace:
    fields = dict(objective=objective, schedule="linear", timesteps=1000, sigma_data=0.5, p_mean=-1.2, p_std=1.2)
    return SimpleNamespace(**{**fields, **changes})


def ideal_epsilon(objective):
    """Ho et al. 2020: eps(x_t, t) = (x_t - sqrt(abar) E[x0 | x_t]) / sqrt(1 - abar), x_t = sqrt(abar) x0 + ..."""

    def network(x_t, t, labels):
        abar = torch.sigmoid(-2 * objective.log_sigmas[t.round().long()])  # 1 / (1 + sigma^2)
        root = abar.sqrt()[:, None]
        return (x_t - root * EXACT(x_t / root, ((1 - abar) / abar).sqrt())) / (1 - abar).sqrt()[:, None]

    return network


def ideal_velocity(exact=EXACT):
    """Lipman et al. 2023: v(x_t, t) = E[n - x0 | x_t] = (x_t - E[x0 | x_t]) / t for x_t = (1 - t) x0 + t n."""

    def network(x_t, level, labels):
        t = level / EMBEDDING_SCALE
        return (x_t - exact(x_t / (1 - t)[:, None], t / (1 - t))) / t[:, None]

    return network


def ideal_edm_output(x_in, level, labels):
    """Karras et al. 2022, Eq. 8: F = (E[x0 | x] - c_skip x) / c_out at x = x_in / c_in, sigma = exp(4 c_noise)."""
    sigma, data = (4 * level / EMBEDDING_SCALE).exp(), 0.5
    total = sigma**2 + data**2
    x = x_in * total.sqrt()[:, None]
    return (EXACT(x, sigma) - (data**2 / total)[:, None] * x) / (sigma * data / total.sqrt())[:, None]


def test_the_ideal_network_of_each_objective_is_the_exact_denoiser():
    x, ddpm = torch.randn(64, 2) * 3, make_diffusion_objective(config("ddpm"))
    on_grid = ddpm.log_sigmas[torch.randint(1000, (64,))].exp()  # ddpm's network was trained at the grid's t
    assert torch.allclose(ddpm.denoise(ideal_epsilon(ddpm), x, on_grid), EXACT(x, on_grid), atol=1e-4)
    sigma = torch.logspace(-2, 1.5, 64)
    flow, edm = make_diffusion_objective(config("flow")), make_diffusion_objective(config("edm"))
    assert torch.allclose(flow.denoise(ideal_velocity(), x, sigma), EXACT(x, sigma), atol=1e-4)
    assert torch.allclose(edm.denoise(ideal_edm_output, x, sigma), EXACT(x, sigma), atol=1e-4)


@pytest.mark.parametrize(
    "objective, network",
    [("ddpm", None), ("flow", ideal_velocity()), ("edm", ideal_edm_output)],
)
def test_each_loss_is_smallest_at_the_ideal_network(objective, network):
    """The regression targets' conditional mean is the minimizer: moving the output off it raises the loss."""
    obj = make_diffusion_objective(config(objective))
    network = network or ideal_epsilon(obj)
    g = torch.Generator().manual_seed(0)
    x0 = MEAN + torch.randn(20000, 2, generator=g) @ torch.linalg.cholesky(COV).T
    noise, u = torch.randn(20000, 2, generator=g), torch.rand(20000, generator=g) * 0.98 + 0.01
    best = obj.loss(network, x0, None, noise, u).mean()
    for shift in (torch.tensor([0.1, 0.0]), torch.tensor([0.0, -0.1])):
        shifted = lambda *args, by=shift: network(*args) + by  # noqa: E731
        assert obj.loss(shifted, x0, None, noise, u).mean() > best


def test_edm_loss_is_eq_8_with_unit_effective_weight():
    """Karras et al. 2022, Eq. 8 with lambda = 1 / c_out^2: ||F(c_in x; c_noise) - (x0 - c_skip x) / c_out||^2."""
    edm = make_diffusion_objective(config("edm"))
    network = lambda x, level, labels: torch.sin(3 * x) + level[:, None] / 1000  # noqa: E731  any network
    x0, noise, u = torch.randn(32, 2), torch.randn(32, 2), torch.rand(32)
    sigma = (-1.2 + 1.2 * math.sqrt(2) * torch.erfinv(2 * u - 1)).exp()
    c_skip, c_out, c_in, c_noise = edm.scalings(sigma)
    x = x0 + sigma[:, None] * noise
    target = (x0 - c_skip[:, None] * x) / c_out[:, None]
    expected = (network(c_in[:, None] * x, c_noise, None) - target).pow(2).mean(1)
    assert torch.allclose(edm.loss(network, x0, None, noise, u), expected, rtol=1e-4)


def test_edm_draws_log_normal_noise_levels():
    edm, seen = make_diffusion_objective(config("edm")), []
    network = lambda x, level, labels: seen.append(level) or torch.zeros_like(x)  # noqa: E731
    edm.loss(network, torch.zeros(20000, 1), None, torch.zeros(20000, 1), torch.rand(20000))
    log_sigma = seen[0] / (EMBEDDING_SCALE / 4)
    assert log_sigma.mean().item() == pytest.approx(-1.2, abs=0.03)
    assert log_sigma.std().item() == pytest.approx(1.2, abs=0.03)


def test_ddpm_schedules_and_their_timesteps():
    linear = make_diffusion_objective(config("ddpm"))
    abar = torch.sigmoid(-2 * linear.log_sigmas)
    assert abar[0].item() == pytest.approx(1 - 1e-4) and abar[-1].item() == pytest.approx(4.04e-5, rel=0.02)
    assert torch.allclose(linear.timestep(linear.log_sigmas.exp()), torch.arange(1000.0), atol=1e-2)
    s, t = 0.008, torch.tensor([100, 500])  # Nichol & Dhariwal 2021, Eq. 17 at two steps
    f = lambda t: torch.cos((t / 1000 + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    cosine = make_diffusion_objective(config("ddpm", schedule="cosine"))
    expected = (f(t) / f(torch.tensor(0))).float()
    assert torch.allclose(torch.sigmoid(-2 * cosine.log_sigmas[t - 1]), expected, rtol=1e-4)
    assert cosine_betas(1000).max().item() == pytest.approx(0.999)
    assert len(linear.native_sigmas(10)) == 11 and linear.native_sigmas(10)[0] == pytest.approx(linear.sigma_max)


def test_a_flow_with_the_exact_velocity_carries_noise_to_the_mixture():
    means, stds, weights = torch.tensor([[-2.0, 0.0], [2.0, 1.0]]), torch.tensor([0.3, 0.4]), torch.tensor([0.3, 0.7])
    flow = make_diffusion_objective(config("flow"))
    velocity = ideal_velocity(mixture_denoiser(means, stds, weights))
    denoise = lambda x, sigma: flow.denoise(velocity, x, sigma)  # noqa: E731
    for name, levels in (("euler", flow.native_sigmas(100)), ("heun", karras_sigmas(30, 0.002, flow.sigma_max))):
        noise = flow.sigma_max * torch.randn(4000, 2, generator=torch.Generator().manual_seed(0))
        x, _ = solve(name, denoise, noise, levels)
        component = nearest_component(x, means)
        assert torch.allclose(torch.bincount(component) / len(x), weights, atol=0.03), name
        assert all(torch.allclose(x[component == k].mean(0), means[k], atol=0.05) for k in range(2)), name


def test_an_unknown_objective_or_schedule_is_one_line():
    with pytest.raises(GenlabError, match="unknown diffusion objective .*'score'.*edm, flow"):
        make_diffusion_objective(config("score"))
    with pytest.raises(GenlabError, match="unknown noise schedule .*'quadratic'.*cosine, linear"):
        make_diffusion_objective(config("ddpm", schedule="quadratic"))
    assert sorted(DIFFUSION_OBJECTIVES) == ["ddpm", "edm", "flow"]

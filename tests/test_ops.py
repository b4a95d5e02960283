"""Tests of genlab.ops: Box-Muller sampling, diagonal Gaussians, KL, reparametrization, interpolation."""

import math

import pytest
import torch
from scipy import stats
from torch.distributions import Normal, kl_divergence

from genlab.ops import (
    BoxMullerSampler,
    DiagonalGaussian,
    box_muller,
    kl_monte_carlo,
    lerp,
    log_mean_exp,
    reparameterize,
    slerp,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def gaussian(seed: int, *shape: int) -> DiagonalGaussian:
    """A random diagonal Gaussian with means in about [-2, 2] and variances in about [e^-2, e^2]."""
    g = gen(seed)
    return DiagonalGaussian(torch.randn(*shape, generator=g), 4 * torch.rand(*shape, generator=g) - 2)


def normal(d: DiagonalGaussian) -> Normal:
    """The same distribution as an independent torch Normal (reference implementation)."""
    return Normal(d.mean, d.std)


def sum_dims(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).sum(1)


# --- Box-Muller -----------------------------------------------------------------------------------


def test_box_muller_outputs_are_standard_normal_and_uncorrelated():
    sampler = BoxMullerSampler(gen(1))
    x, y = box_muller(sampler.uniform(100_000), sampler.uniform(100_000))
    for z in (x, y):
        assert stats.kstest(z.numpy(), "norm").pvalue > 0.001
    assert abs(torch.corrcoef(torch.stack([x, y]))[0, 1].item()) < 0.02


def test_sampler_is_standard_normal():
    z = BoxMullerSampler(gen(2)).sample(100_000)
    assert stats.kstest(z.numpy(), "norm").pvalue > 0.001
    assert abs(z.mean().item()) < 0.02 and abs(z.std().item() - 1) < 0.02


@pytest.mark.parametrize("shape", [(3, 5), (7,), (3, 3, 3), (1,)])
def test_sampler_shape_including_odd_numel(shape):
    z = BoxMullerSampler(gen()).sample(*shape)
    assert z.shape == shape
    assert torch.isfinite(z).all()


def test_sampler_same_seed_same_samples():
    a = BoxMullerSampler(gen(5)).sample(4, 9)
    assert torch.equal(a, BoxMullerSampler(gen(5)).sample(4, 9))
    assert not torch.equal(a, BoxMullerSampler(gen(6)).sample(4, 9))


def test_uniform_never_zero_even_at_extremes_of_rand(monkeypatch):
    # torch.rand draws from [0, 1): force its extreme values, including exactly 0 and the largest float < 1.
    below_one = 1 - 2.0**-24
    monkeypatch.setattr(torch, "rand", lambda n, **kw: torch.tensor([0.0, 0.5, below_one])[:n])
    sampler = BoxMullerSampler()
    u = sampler.uniform(3)
    assert (u > 0).all() and (u <= 1).all()
    assert torch.isfinite(torch.log(u)).all()
    assert torch.isfinite(sampler.sample(6)).all()


def test_uniform_range_on_real_draws():
    u = BoxMullerSampler(gen(3)).uniform(200_000)
    assert u.min() > 0 and u.max() <= 1
    assert torch.isfinite(torch.log(u)).all()


# --- DiagonalGaussian -----------------------------------------------------------------------------


def test_kl_nonnegative_for_random_parameters():
    for seed in range(5):
        p, q = gaussian(seed, 32, 6), gaussian(seed + 100, 32, 6)
        assert (p.kl(q) >= 0).all()
        assert (p.kl() >= 0).all()


def test_kl_matches_torch_distributions():
    p, q = gaussian(0, 8, 2, 3), gaussian(1, 8, 2, 3)
    torch.testing.assert_close(p.kl(q), sum_dims(kl_divergence(normal(p), normal(q))))


def test_kl_of_distribution_with_itself_is_zero():
    p = gaussian(3, 16, 5)
    torch.testing.assert_close(p.kl(p), torch.zeros(16), atol=1e-5, rtol=0)


def test_kl_is_asymmetric():
    # P = N(0, 1), Q = N(1, 4): KL(P||Q) = 0.5 (1/4 + 1/4 - 1 + ln 4), KL(Q||P) = 0.5 (4 + 1 - 1 - ln 4)
    p = DiagonalGaussian(torch.zeros(1, 1), torch.zeros(1, 1))
    q = DiagonalGaussian(torch.ones(1, 1), torch.full((1, 1), math.log(4.0)))
    pq, qp = p.kl(q).item(), q.kl(p).item()
    assert pq == pytest.approx(0.5 * (0.5 - 1 + math.log(4)))
    assert qp == pytest.approx(0.5 * (4 - math.log(4)))
    assert abs(pq - qp) > 0.5


def test_kl_none_is_kl_to_standard_normal():
    p = gaussian(4, 10, 3, 2, 2)
    torch.testing.assert_close(p.kl(None), p.kl(DiagonalGaussian.standard(p.mean)))
    torch.testing.assert_close(p.kl(), sum_dims(kl_divergence(normal(p), Normal(0.0, 1.0))))


def test_analytic_kl_matches_monte_carlo():
    p, q = gaussian(5, 3, 4), gaussian(6, 3, 4)
    estimate, stderr = kl_monte_carlo(p, q, n_samples=20_000, generator=gen(7))
    assert estimate.shape == (3,) and (stderr > 0).all()
    assert ((estimate - p.kl(q)).abs() < 4 * stderr).all()


def test_log_prob_matches_torch_normal():
    p = gaussian(8, 4, 3, 5)
    x = torch.randn(4, 3, 5, generator=gen(9)) * 2
    torch.testing.assert_close(p.log_prob(x), sum_dims(normal(p).log_prob(x)))


def test_entropy_matches_torch_normal():
    p = gaussian(10, 6, 7)
    torch.testing.assert_close(p.entropy(), sum_dims(normal(p).entropy()))


def test_rsample_gradients_reach_mean_and_log_var():
    mean = torch.randn(4, 3, generator=gen(11)).requires_grad_()
    log_var = torch.randn(4, 3, generator=gen(12)).requires_grad_()
    (DiagonalGaussian(mean, log_var).rsample(gen(13)) ** 2).sum().backward()
    assert mean.grad is not None and (mean.grad != 0).any()
    assert log_var.grad is not None and (log_var.grad != 0).any()


def test_sample_has_no_gradient():
    mean, log_var = torch.zeros(2, 3, requires_grad=True), torch.zeros(2, 3, requires_grad=True)
    z = DiagonalGaussian(mean, log_var).sample(gen())
    assert not z.requires_grad and z.grad_fn is None


def test_mode_is_mean():
    p = gaussian(14, 5, 2)
    assert torch.equal(p.mode(), p.mean)


def test_from_params_splits_mean_then_log_var():
    params = torch.randn(3, 8, 2, 2, generator=gen(15))
    d = DiagonalGaussian.from_params(params)
    assert torch.equal(d.mean, params[:, :4]) and torch.equal(d.log_var, params[:, 4:])
    last = DiagonalGaussian.from_params(params, dim=-1)
    assert torch.equal(last.mean, params[..., :1]) and torch.equal(last.log_var, params[..., 1:])


# --- reparameterize, log_mean_exp, interpolation -------------------------------------------------


def test_reparameterize_moments():
    n = 100_000
    mu, var = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([0.25, 4.0, 1.0])
    z = reparameterize(mu.expand(n, 3), var.log().expand(n, 3), gen(16))
    torch.testing.assert_close(z.mean(0), mu, atol=0.03, rtol=0)
    torch.testing.assert_close(z.var(0), var, rtol=0.03, atol=0)


def test_reparameterize_same_generator_seed_is_reproducible():
    mu, log_var = torch.zeros(5, 4), torch.zeros(5, 4)
    assert torch.equal(reparameterize(mu, log_var, gen(17)), reparameterize(mu, log_var, gen(17)))


def test_log_mean_exp_small_values():
    x = torch.randn(4, 7, generator=gen(18), dtype=torch.float64)
    torch.testing.assert_close(log_mean_exp(x), torch.log(torch.exp(x).mean(-1)))
    torch.testing.assert_close(log_mean_exp(x, dim=0), torch.log(torch.exp(x).mean(0)))


def test_log_mean_exp_large_values_are_stable():
    x = torch.tensor([1000.0, 1000.0 + math.log(3.0)], dtype=torch.float64)
    assert torch.isinf(torch.log(torch.exp(x).mean()))  # the naive formula overflows
    assert log_mean_exp(x).item() == pytest.approx(1000.0 + math.log(2.0))  # log((1 + 3) / 2) above 1000


@pytest.mark.parametrize("interp", [lerp, slerp])
def test_interpolation_endpoints(interp):
    a, b = torch.randn(2, 3, generator=gen(19)), torch.randn(2, 3, generator=gen(20))
    out = interp(a, b, torch.tensor([0.0, 0.3, 1.0]))
    assert out.shape == (3, 2, 3)
    torch.testing.assert_close(out[0], a)
    torch.testing.assert_close(out[-1], b)


def test_slerp_keeps_norm_and_lerp_does_not():
    a, b = torch.randn(16, generator=gen(21)), torch.randn(16, generator=gen(22))
    a, b = 5 * a / a.norm(), 5 * b / b.norm()
    t = torch.linspace(0, 1, 11)
    torch.testing.assert_close(slerp(a, b, t).norm(dim=1), torch.full((11,), 5.0), rtol=1e-4, atol=0)
    assert lerp(a, b, torch.tensor([0.5])).norm() < 0.99 * 5  # the chord cuts inside the sphere


@pytest.mark.parametrize("scale", [1.0, 2.0, 1.0 + 1e-6])
def test_slerp_of_parallel_vectors_is_lerp_without_nan(scale):
    a = torch.randn(8, generator=gen(23))
    t = torch.linspace(0, 1, 5)
    out = slerp(a, scale * a, t)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, lerp(a, scale * a, t), rtol=1e-5, atol=1e-5)

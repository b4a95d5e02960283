"""Sample-based metrics with known answers: mode coverage and Parzen windows."""

from __future__ import annotations

import math

import pytest
import torch

from genlab.data.toy2d import grid25_centers, load_toy2d, mixture, ring8_centers
from genlab.metrics.modes import mode_coverage
from genlab.metrics.parzen import parzen_evaluate, parzen_log_likelihoods


def test_toy_mixtures_follow_the_protocol():
    assert torch.allclose(ring8_centers().norm(dim=1), torch.ones(8))
    assert grid25_centers().shape == (25, 2) and set(grid25_centers()[:, 0].tolist()) == {-4, -2, 0, 2, 4}
    assert mixture("ring8")[1] == 0.01 and mixture("grid25")[1] == 0.05
    data = load_toy2d("grid25", "test")
    assert data.images.shape == (2500, 2) and data.is_points


def test_real_data_covers_every_mode_with_high_quality():
    for name in ("ring8", "grid25"):
        data = load_toy2d(name, "test")
        centers, std = mixture(name)
        result = mode_coverage(data.images, centers, std)
        assert result["modes"] == len(centers) and result["high_quality"] > 0.98 and result["reverse_kl"] < 0.02


def test_collapsed_samples_capture_one_mode_with_maximal_reverse_kl():
    centers, std = mixture("grid25")
    result = mode_coverage(centers[3].repeat(100, 1), centers, std)
    assert result["modes"] == 1 and result["high_quality"] == 1
    assert result["reverse_kl"] == pytest.approx(math.log(25))


def test_samples_far_from_modes_are_low_quality():
    centers, std = mixture("ring8")
    far = torch.tensor([[0.0, 0.0], [0.5, 0.5]])
    near = centers[:2] + 2.9 * std * torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    result = mode_coverage(torch.cat([far, near]), centers, std)
    assert result["high_quality"] == 0.5 and result["modes"] == 2 and result["reverse_kl"] == pytest.approx(math.log(4))


def test_parzen_matches_a_direct_gaussian_mixture_computation():
    samples, data = torch.randn(50, 3), torch.randn(7, 3)
    sigma = 0.7
    dist = torch.distributions.Normal(samples.double(), sigma)
    direct = torch.logsumexp(dist.log_prob(data.double().unsqueeze(1)).sum(2), dim=1) - math.log(50)
    ours = parzen_log_likelihoods(samples, data, torch.tensor([sigma]), chunk=3)[0]
    assert torch.allclose(ours, direct, atol=1e-8)


def test_parzen_picks_the_sigma_that_fits_validation_data():
    samples = torch.randn(2000, 2) * 0.3
    result = parzen_evaluate(samples, torch.randn(500, 2) * 0.3, torch.randn(500, 2) * 0.3)
    assert 0.1 <= result["sigma"] <= 0.3 and result["stderr"] > 0
    shifted = parzen_evaluate(samples, torch.randn(500, 2) * 0.3, torch.randn(500, 2) * 0.3 + 3)
    assert shifted["log_likelihood"] < result["log_likelihood"] - 10

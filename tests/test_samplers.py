"""Latent-space samplers: interpolation paths, traversals, the 2-D manifold grid."""

from __future__ import annotations

import pytest
import torch

from genlab.errors import GenlabError
from genlab.samplers import interpolate_codes, manifold_grid, prior_codes, sample_images, traverse
from genlab.testing import tiny_model


def test_interpolation_paths_start_and_end_at_the_codes():
    a, b = torch.randn(6), torch.randn(6)
    for method in ("lerp", "slerp"):
        path = interpolate_codes(a, b, 5, method)
        assert path.shape == (5, 6)
        assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    with pytest.raises(GenlabError):
        interpolate_codes(a, b, 1)
    with pytest.raises(GenlabError):
        interpolate_codes(a, b, 4, "cubic")


def test_traverse_sweeps_only_the_named_dimension(monkeypatch):
    model, _ = tiny_model("vae")
    seen = []
    monkeypatch.setattr(model, "decode", lambda codes: seen.append(codes.clone()) or codes)
    traverse(model, torch.zeros(4), [1, 3], span=2.0, steps=5)
    codes = seen[0]
    assert codes.shape == (10, 4)
    assert torch.allclose(codes[:5, 1], torch.linspace(-2, 2, 5)) and (codes[:5, [0, 2, 3]] == 0).all()
    assert torch.allclose(codes[5:, 3], torch.linspace(-2, 2, 5)) and (codes[5:, :3] == 0).all()
    with pytest.raises(GenlabError, match="out of range"):
        traverse(model, torch.zeros(4), [4])


def test_manifold_grid_needs_two_latents_and_covers_gaussian_quantiles(monkeypatch):
    model, _ = tiny_model("vae")
    with pytest.raises(GenlabError, match="2-D latent"):
        manifold_grid(model)
    model.config.latent_dim = 2
    monkeypatch.setattr(model, "decode", lambda codes: codes)
    codes = manifold_grid(model, steps=4)
    assert codes.shape == (16, 2)
    normal = torch.distributions.Normal(0.0, 1.0)
    assert torch.allclose(normal.cdf(codes[:4, 0]), torch.tensor([0.125, 0.375, 0.625, 0.875]), atol=1e-5)
    assert (codes[:4, 1] > codes[-4:, 1]).all()  # top row has the largest z2


def test_prior_codes_and_samples_are_seeded():
    model, _ = tiny_model("vae")
    a, b = prior_codes(model, [3, 3])
    assert torch.equal(a, b)
    assert torch.equal(sample_images(model, 2, seed=1), sample_images(model, 2, seed=1))
    with pytest.raises(GenlabError):
        sample_images(model, 0)

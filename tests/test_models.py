"""The model contract, checked for every registered model, plus VAE/AE specifics."""
from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file

from genlab.data import to_float
from genlab.errors import GenlabError
from genlab.metrics import importance_sampled_nll
from genlab.models.base import GenerativeModel
from genlab.models import get_model_class, model_names
from genlab.runs import load_run, save_checkpoint

from genlab.testing import synthetic_images, tiny_model


def batch_for(model, n=8, seed=0):
    data = synthetic_images(n, model.config.channels, model.config.image_size, seed)
    x = to_float(data.images)
    if getattr(model, "likelihood", None) is not None and model.likelihood.discrete:
        x = torch.bernoulli(x, generator=torch.Generator().manual_seed(seed))
    return model.prepare(x), data.labels


@pytest.mark.parametrize("name", model_names())
def test_every_phase_loss_is_finite_and_every_parameter_trains(name):
    model, _ = tiny_model(name)
    batch = batch_for(model)
    for phase in model.phases:
        out = model.loss(batch, phase)
        assert torch.isfinite(out["loss"]) and out["loss"].dim() == 0
        out["loss"].backward()
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert trainable and all(p.grad is not None and torch.isfinite(p.grad).all() for p in trainable)


GENERATIVE = [name for name in model_names() if get_model_class(name).sample is not GenerativeModel.sample]


def test_only_the_classifier_and_translators_cannot_sample():
    assert sorted(set(model_names()) - set(GENERATIVE)) == ["classifier", "code-dae", "cyclegan", "refiner"]
    model, _ = tiny_model("classifier")
    assert not model.supports("sample") and model.supports("logits")


@pytest.mark.parametrize("name", GENERATIVE)
@pytest.mark.parametrize("channels, size", [(1, 28), (3, 32)])
def test_sample_shape_range_and_seed(name, channels, size):
    model, _ = tiny_model(name, binarize="none", channels=channels, size=size)
    a = model.sample(5, generator=torch.Generator().manual_seed(1))
    b = model.sample(5, generator=torch.Generator().manual_seed(1))
    assert a.shape == (5, channels, size, size) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", model_names())
def test_checkpoint_round_trip(name, tmp_path):
    model, config = tiny_model(name)
    save_checkpoint(tmp_path, model, config)
    loaded, loaded_config = load_run(tmp_path)
    assert loaded_config.to_dict() == config.to_dict()
    model.eval()
    saved, restored = model.state_dict(), loaded.state_dict()
    assert saved.keys() == restored.keys() and all(torch.equal(saved[k], v) for k, v in restored.items())
    if model.supports("sample"):
        same = torch.Generator().manual_seed(3)
        assert torch.equal(model.sample(4, generator=same), loaded.sample(4, generator=same.manual_seed(3)))
    assert not any(k.startswith("_orig_mod.") for k in load_file(str(tmp_path / "checkpoint" / "model.safetensors")))


def test_vae_elbo_terms_and_kl_warmup():
    model, _ = tiny_model("vae")
    model.config.kl_warmup_steps, model.config.beta = 100, 2.0
    model.step = 25
    assert model.kl_weight() == pytest.approx(0.5)
    model.step = 1000
    assert model.kl_weight() == pytest.approx(2.0)
    out = model.loss(batch_for(model), "main")
    assert out["kl"] >= 0 and out["elbo"].item() == pytest.approx(-(out["recon"] + out["kl"]).item(), rel=1e-5)


def test_iwae_bound_is_tighter_than_the_elbo():
    model, _ = tiny_model("vae")
    x, _ = batch_for(model, 16)
    torch.manual_seed(0)
    weights = model.log_weights(x, 64)
    assert weights.shape == (16, 64)
    iwae = torch.logsumexp(weights, 1) - math.log(64)
    assert (iwae >= weights.mean(1) - 1e-4).all()  # Jensen, sample by sample


def test_iwae_objective_option():
    model, _ = tiny_model("vae")
    model.config.iw_samples = 5
    out = model.loss(batch_for(model), "main")
    assert "iwae" in out and torch.isclose(out["loss"], -out["iwae"])


def test_nll_estimate_is_below_negative_elbo():
    model, _ = tiny_model("vae")
    data = synthetic_images(8).binarized(0)
    model.eval()
    torch.manual_seed(0)
    nll = importance_sampled_nll(model, data, k=200, chunk=64)["nll"]
    x = to_float(data.images)
    recon, kl = model.elbo_terms(x)
    assert nll < (-(recon - kl)).mean().item()


def test_gaussian_likelihood_reports_discrete_nll():
    model, _ = tiny_model("vae", binarize="none")
    assert model.config.likelihood == "gaussian"
    assert model.likelihood.discrete_offset(model.dims) == pytest.approx(784 * math.log(256))
    x = model.prepare(torch.full((2, 1, 28, 28), 1.0))
    assert (x > 255 / 256).all() and (x < 1).all()  # dequantized inside the top bin


def test_autoencoder_samples_from_fitted_code_distribution():
    model, _ = tiny_model("autoencoder")
    model.train()
    for _ in range(200):
        model.loss(batch_for(model), "main")
    assert not torch.allclose(model.code_var, torch.ones_like(model.code_var))
    assert not model.supports("log_weights")
    with pytest.raises(GenlabError, match="cannot estimate"):
        model.require("log_weights", "estimate an NLL")

"""The model contract, checked for every registered model, plus VAE/AE specifics."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file

from genlab.data import resolve_binarize, to_float
from genlab.errors import GenlabError
from genlab.metrics import importance_sampled_nll
from genlab.models import build_model, default_config, get_model_class, model_names
from genlab.models.registry import planned_bytes
from genlab.runs import load_run, resolve_model_config, save_checkpoint
from genlab.testing import give_pretrained_runs, synthetic_images, synthetic_points, tiny_model, two_domains

LARGE = 64 * 2**20  # bytes of weights past which a preset's model is built on the meta device


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


def preset_cases() -> list[tuple[str, str]]:
    """Every (model, preset) pair the registry holds."""
    return [(name, preset) for name in model_names() for preset in sorted(get_model_class(name).presets)]


def resolved(name: str, preset: str | None, data):
    """The model's default config with ``preset`` applied, resolved against ``data``."""
    config = default_config(name, preset)
    give_pretrained_runs(config)
    resolve_binarize(config)
    resolve_model_config(config, data)
    return config


def takes(name: str, data) -> bool:
    """Whether the model's default config makes a model on ``data`` (one of a kind it cannot learn, e.g. points,
    is refused in one line)."""
    try:
        build(resolved(name, None, data))
    except GenlabError:
        return False
    return True


def data_kinds(name: str) -> list:
    """Small synthetic data of each kind the model learns: two domains for a translator, else images, and points
    when it takes them."""
    if get_model_class(name).directions:
        return [two_domains()]
    return [synthetic_images(2)] + ([synthetic_points(8)] if takes(name, synthetic_points(8)) else [])


def build(config):
    """The config's model, on the meta device when its weights are large (so no memory is taken)."""
    if planned_bytes(get_model_class(config.model_name), config.model) > LARGE:
        with torch.device("meta"):
            return build_model(config.model_name, config.model)
    return build_model(config.model_name, config.model)


@pytest.mark.parametrize("name, preset", preset_cases())
def test_every_preset_names_real_options_and_builds_its_model(name, preset):
    """Catches presets naming options that do not exist (default_config raises) or making models no data of
    the model's kinds can build."""
    for data in data_kinds(name):
        model = build(resolved(name, preset, data))
        assert sum(p.numel() for p in model.parameters()) > 0, (name, preset, data.name)


def test_every_model_has_presets_and_the_grid_covers_them():
    cases = preset_cases()
    assert {name for name, _ in cases} == set(model_names())
    assert ("gan", "toy") in cases and ("cyclegan", "photo") in cases


SAMPLERS = [name for name in model_names() if tiny_model(name)[0].supports("sample")]  # from capabilities


@pytest.mark.parametrize("name", sorted(set(model_names()) - set(SAMPLERS)))
def test_a_model_that_cannot_sample_says_so_in_one_line(name):
    model, _ = tiny_model(name)
    with pytest.raises(GenlabError, match=f"model {name!r} cannot draw samples") as info:
        model.require("sample", "draw samples")
    assert "\n" not in str(info.value)


def test_the_classifier_gives_logits_and_no_samples():
    model, _ = tiny_model("classifier")
    assert not model.supports("sample") and model.supports("logits")


@pytest.mark.parametrize("name", SAMPLERS)
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

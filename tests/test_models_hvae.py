"""The hierarchical VAE (models/hvae.py): its bound reduces to the plain VAE's with one group, KLs are analytic and
right, the residual posterior gives KL 0 at zero encoder outputs, free bits never tighten the reported bound; the
discretized logistic mixture is a distribution; gradient clipping and skipping in the loop."""

from __future__ import annotations

import contextlib
import json

import pytest
import torch

from genlab.errors import GenlabError
from genlab.export import export_onnx
from genlab.export.runtime import load_generator
from genlab.losses import make_likelihood
from genlab.metrics import elbo_terms, importance_sampled_nll
from genlab.models import default_config
from genlab.models.hvae import HVAE
from genlab.ops import kl_monte_carlo
from genlab.runs import resolve_model_config, save_checkpoint
from genlab.samplers import seeded
from genlab.testing import TINY_TRAIN, run_weights, synthetic_images, tiny_model
from genlab.testing.runs import straight_and_resumed
from genlab.training.step import optimization_step


def hvae(**options):
    """A tiny HVAE on binary 28 px images with the given model options."""
    config = default_config("hvae", "tiny")
    config.data.binarize = "dynamic"
    for key, value in options.items():
        setattr(config.model, key, value)
    resolve_model_config(config, synthetic_images(2))
    torch.manual_seed(0)
    return HVAE(config.model).eval()


def perturbed(model: HVAE, scale: float = 0.3) -> HVAE:
    """The model with every weight moved at random, so that posteriors leave their priors (they start equal)."""
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(scale * torch.randn_like(parameter))
    return model


def binary(n=6, seed=0):
    return torch.bernoulli(torch.full((n, 1, 28, 28), 0.3), generator=seeded(seed))


def test_with_one_group_the_bound_is_the_plain_vae_elbo_on_the_same_weights():
    """One group under N(0, I): E_q log p(x | z) - KL(q || N(0, I)), computed as the plain VAE computes it."""
    model, x = perturbed(hvae(scales=1, groups=(1,), top_prior="standard")), binary()
    torch.manual_seed(3)
    recon, kl = model.elbo_terms(x)
    assert (kl > 1).all()
    group = model.top_down[0][0]
    h = model.top_state.expand(len(x), -1, -1, -1)
    q = group.posterior_of(h, model.features(x)[0], group.prior_of(h), residual=True)
    torch.manual_seed(3)
    z = q.rsample()
    params = model.head(group.absorb(h, z))
    assert torch.allclose(kl, q.kl())  # the VAE's closed form against N(0, I)
    assert torch.allclose(recon, model.likelihood.log_prob(params, x))


def test_each_group_kl_is_analytic_and_matches_monte_carlo():
    model = perturbed(hvae(scales=2, groups=(2, 1)))
    with torch.no_grad():
        visits = model.posterior_groups(binary(2))
    assert len(visits) == 3
    for q, p, _ in visits:
        estimate, stderr = kl_monte_carlo(q, p, n_samples=4000, generator=seeded(1))
        analytic = q.kl(p)
        assert (analytic > 0.5).all()
        assert ((estimate - analytic).abs() <= 5 * stderr + 1e-3).all(), (estimate, analytic, stderr)


def test_the_residual_posterior_equals_the_prior_when_the_encoder_outputs_zeros():
    model = hvae(scales=2, groups=(2, 1))
    for scale in model.top_down:
        for group in scale:
            torch.nn.init.zeros_(group.posterior.weight)
            torch.nn.init.zeros_(group.posterior.bias)
    _, kls = model.group_kls(binary())
    assert torch.equal(kls, torch.zeros_like(kls))
    plain = hvae(scales=2, groups=(2, 1), residual_posterior=False)  # the contrast: q = N(0, I), p is learned
    plain.load_state_dict(model.state_dict())
    with torch.no_grad():
        for scale in plain.top_down:
            for group in scale:
                group.prior.bias.fill_(0.5)
    assert (plain.group_kls(binary())[1] > 0).all()


@pytest.mark.parametrize("floor", [0.0, 2.0, 50.0])
def test_free_bits_never_make_the_reported_bound_tighter_than_the_true_elbo(floor):
    base, held = perturbed(hvae(), 0.02), hvae(free_bits=floor)
    held.load_state_dict(base.state_dict())  # group KLs of about 0.2 and 2.9 nats: a floor of 2 holds one of them
    batch = (binary(8), torch.zeros(8, dtype=torch.long))
    torch.manual_seed(5)
    true = base.loss(batch, "main")
    torch.manual_seed(5)
    out = held.loss(batch, "main")
    assert torch.allclose(out["elbo"], true["elbo"])  # the logged bound is the ELBO, whatever the floor
    assert out["loss"] >= -out["elbo"] - 1e-4  # the objective is never above the bound
    if floor:
        assert out["loss"] > -out["elbo"] + 1  # a floor above a group's KL does change the objective


def test_with_importance_samples_the_loss_is_the_iwae_bound_and_the_elbo_is_still_reported():
    base, iwae = perturbed(hvae(), 0.1), hvae(iw_samples=32)
    iwae.load_state_dict(base.state_dict())
    batch = (binary(8), torch.zeros(8, dtype=torch.long))
    torch.manual_seed(5)
    true = base.loss(batch, "main")
    torch.manual_seed(5)
    out = iwae.loss(batch, "main")
    assert torch.allclose(out["elbo"], true["elbo"])  # the same draw gives the same reported ELBO
    assert torch.equal(out["loss"], -out["iwae"])
    assert out["iwae"] > out["elbo"] + 0.5  # 32 samples: a tighter bound (Burda et al. 2016, Theorem 1)
    out["loss"].backward()
    assert all(p.grad is not None for p in iwae.top_down.parameters() if p.requires_grad)


@pytest.mark.parametrize("regulariser", [{"kl_warmup_steps": 10}, {"free_bits": 0.5}, {"iw_samples": 0}])
def test_the_iwae_bound_refuses_kl_warmup_and_free_bits_in_one_line(regulariser):
    with pytest.raises(GenlabError, match="iw_samples"):
        hvae(**{"iw_samples": 2, **regulariser})


def test_the_importance_sampled_nll_is_below_the_negative_elbo():
    model, config = tiny_model("hvae")
    data = synthetic_images(8)
    data.images = (data.images > 127).to(torch.uint8) * 255
    nll = importance_sampled_nll(model, data, k=64, chunk=16)
    neg_elbo = elbo_terms(model, data)["neg_elbo"]
    assert nll["nll"] < neg_elbo and nll["k"] == 64


def test_log_weights_in_pieces_keep_every_sample():
    model, x = hvae(), binary(3)
    torch.manual_seed(0)
    weights = model.log_weights(x, 10, rows=4)  # one image-batch of 3 -> pieces of one sample each
    assert weights.shape == (3, 10) and torch.isfinite(weights).all()
    assert weights.std(1).min() > 0  # every column a different posterior sample


def test_sampling_is_seeded_and_temperature_zero_is_the_prior_mean_path():
    model = hvae(scales=2, groups=(2, 1))
    a, b = model.sample(4, seeded(1)), model.sample(4, seeded(1))
    assert torch.equal(a, b) and a.shape == (4, 1, 28, 28)
    model.temperature = 0.0
    cold = model.sample(4, seeded(2))
    assert torch.allclose(cold, cold[:1].expand_as(cold))  # no noise: every sample the same image
    assert torch.allclose(cold, model.decode(model.prior_sample(4, seeded(3))))


def test_decode_noise_reproduces_sample_from_the_same_draws():
    model = hvae(scales=2, groups=(2, 1))
    model.temperature = 0.8
    gen = seeded(4)
    noise = [0.8 * torch.randn(3, *shape, generator=gen) for shape in model.group_shapes]
    assert torch.equal(model.decode_noise(noise), model.sample(3, seeded(4)))


def test_reconstruction_and_interpolation_go_through_the_top_group():
    model, x = perturbed(hvae(scales=2, groups=(2, 1)), 0.05), binary(2)
    codes = model.encode(x)
    assert codes.shape == (2, 2 * 7 * 7)  # the tiny preset: 2 channels on the 7 x 7 top
    assert torch.equal(codes, model.posterior_groups(x)[0][0].mean.flatten(1))  # the top group's posterior mean
    assert codes.abs().max() > 0 and not torch.equal(codes[0], codes[1])  # of each image
    assert model.reconstruct(x).shape == x.shape and model.decode(codes).shape == x.shape


@pytest.mark.parametrize("channels", [1, 2])
def test_the_discretized_logistic_mixture_sums_to_one_over_all_levels(channels):
    likelihood = make_likelihood("logistic_mixture", mixtures=3)
    params = torch.randn(1, likelihood.param_channels(channels), 1, 1, generator=seeded(0)) * 2
    levels = torch.cartesian_prod(*[torch.arange(256)] * channels).view(-1, channels, 1, 1).float() / 255
    log_p = likelihood.log_prob(params.expand(len(levels), -1, -1, -1), levels)
    assert torch.logsumexp(log_p, 0).exp().item() == pytest.approx(1.0, abs=1e-4)
    assert likelihood.mean(params).shape == (1, channels, 1, 1)


def test_the_logistic_mixture_mean_is_its_component_mean_when_one_component_dominates():
    likelihood = make_likelihood("logistic_mixture", mixtures=2)
    params = torch.zeros(1, likelihood.param_channels(1), 1, 1)
    params[0, 0], params[0, 2], params[0, 3] = 30.0, 0.5, -0.5  # logit of component 0; means 0.5, -0.5
    assert likelihood.mean(params).item() == pytest.approx(0.75, abs=1e-3)  # (0.5 + 1) / 2


def gaussian_step(limits):
    """One optimization step of a tiny HVAE with the given (clip, skip) limits: logged, weights before, the model."""
    model = hvae().train()
    optimizers = model.optimizers(default_config("hvae", "tiny").train)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batch = [(binary(8), torch.zeros(8, dtype=torch.long))]
    logged, skipped = optimization_step(model, optimizers, batch, contextlib.nullcontext, grad_limits=limits)
    assert not bool(skipped)  # skipped means a non-finite loss, never a skipped outlier update
    return logged, before, model


def test_an_update_with_a_gradient_norm_over_the_skip_threshold_changes_nothing():
    logged, before, model = gaussian_step((0.0, 1e-6))
    assert logged["grad_skipped"].item() == 1.0 and logged["grad_norm"] > 1e-6
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and batch-norm statistics


def test_an_update_under_the_threshold_is_applied_and_clipping_bounds_the_norm():
    logged, before, model = gaussian_step((1e-3, 1e9))
    assert logged["grad_skipped"].item() == 0.0 and logged["grad_norm"] > 1e-3
    after = model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])) <= 1e-3 * 1.001
    no_limits, _, _ = gaussian_step((0.0, 0.0))
    assert "grad_norm" not in no_limits


def test_spectral_penalty_is_the_largest_singular_value_after_a_few_calls():
    model = hvae(spectral_reg=1e-3)
    penalty = model.spectral
    for _ in range(30):
        value = penalty()
    exact = sum(torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2) for conv in penalty.convs)
    assert value.item() == pytest.approx(exact.item(), rel=1e-3)
    model.train()
    out = model.loss((binary(4), torch.zeros(4, dtype=torch.long)), "main")
    assert out["spectral"] > 0 and out["loss"] > -out["elbo"]  # the penalty is added in training


def test_a_tiny_run_resumes_exactly_with_warmup_free_bits_and_gradient_limits(tmp_path):
    """Stopped after 3 steps and resumed, the run ends with the weights (and batch-norm statistics) of one that
    never stopped; the spectral penalty's power-iteration vectors are carried over too."""
    settings = TINY_TRAIN + ["train.epochs=2", "train.eval_images=0", "train.grid_size=4", "data.limit=128"]
    settings += ["model.kl_warmup_steps=5", "model.free_bits=0.1", "model.spectral_reg=1e-3", "train.grad_clip=100"]
    straight, split, state = straight_and_resumed("hvae", "mnist", "tiny", settings, tmp_path, stop=3)
    assert state["loop"]["step"] == 3
    a, b = run_weights(straight), run_weights(split)
    assert any(k.startswith("spectral.") for k in a) and a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    steps = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    assert any("grad_norm" in r for r in steps if r["kind"] == "step")


def test_the_exported_top_down_path_samples_what_the_model_samples(tmp_path):
    """top_down.onnx takes one noise input per group; fed the draws of ``sample``, it gives its images."""
    model, config = tiny_model("hvae")
    model.eval()
    save_checkpoint(tmp_path / "run", model, config)
    folder = export_onnx(tmp_path / "run", tmp_path / "export").parent  # returns the manifest
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["sample_graph"] == "top_down.onnx" and [g["file"] for g in manifest["graphs"]] == ["top_down.onnx"]
    ports = manifest["graphs"][0]["inputs"]
    assert [p["name"] for p in ports] == ["noise_1", "noise_2"] and ports[0]["distribution"] == "standard normal"
    sampler, _ = load_generator(folder)
    exported, own = sampler.sample(6, seeded(3)), model.sample(6, seeded(3))
    assert exported.shape == own.shape and (exported - own).abs().max() < 1e-4


def test_on_rgb_images_the_logistic_mixture_gives_a_bound_in_bits_per_dim_of_8_bit_data():
    """32 px RGB: the discretized mixture is a probability of the 256 levels, so the -ELBO of an untrained model
    sits near 8 bits per dimension (uniform over the levels), not at a density's arbitrary offset, and training
    steps lower it."""
    model, _ = tiny_model("hvae", binarize="none", channels=3, size=32)
    assert model.likelihood.name == "logistic_mixture" and model.likelihood.discrete
    data = synthetic_images(8, channels=3, size=32)
    before = elbo_terms(model, data)["neg_elbo_bits_per_dim"]
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    x = data.images.float() / 255
    for _ in range(15):
        optimizer.zero_grad()
        model.loss((x, data.labels), "main")["loss"].backward()
        optimizer.step()
    after = elbo_terms(model, data)["neg_elbo_bits_per_dim"]
    assert 0 < after < before < 12, (before, after)

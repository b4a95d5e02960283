"""GAN objectives, penalties, networks and training aids."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math

import pytest
import torch

import genlab
from genlab.config import apply_overrides
from genlab.data import load_dataset
from genlab.errors import GenlabError
from genlab.losses import OBJECTIVES, gradient_penalty, make_objective, r1_penalty
from genlab.models import default_config
from genlab.models.gan import GAN, mean_pairwise_distance, update_ema
from genlab.nn.dcgan import DCGANDiscriminator, DCGANGenerator, upsampling_plan
from genlab.nn.mlp import Maxout
from genlab.testing import TINY_TRAIN, synthetic_images, tiny_model

QUIET = {"echo": lambda s: None}


def test_minimax_and_nonsaturating_match_goodfellow_from_logits():
    real, fake = torch.randn(64), torch.randn(64)
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected_d = -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())
    for name in ("minimax", "nonsaturating"):
        assert torch.allclose(make_objective(name).discriminator(real, fake), expected_d, atol=1e-5)
    assert torch.allclose(make_objective("minimax").generator(fake), torch.log(1 - d_fake).mean(), atol=1e-5)
    assert torch.allclose(make_objective("nonsaturating").generator(fake), -torch.log(d_fake).mean(), atol=1e-5)


def test_minimax_generator_saturates_where_nonsaturating_does_not():
    fake = torch.tensor([-8.0], requires_grad=True)  # D confidently rejects the sample
    grads = {}
    for name in ("minimax", "nonsaturating"):
        (grads[name],) = torch.autograd.grad(make_objective(name).generator(fake), fake)
    assert grads["minimax"].abs() < 1e-3 < grads["nonsaturating"].abs()


def test_other_objectives_have_their_textbook_optima():
    ones, zeros = torch.ones(8), torch.zeros(8)
    assert make_objective("lsgan").discriminator(ones, zeros) == 0
    assert make_objective("lsgan").generator(ones) == 0
    assert make_objective("hinge").discriminator(ones, -ones) == 0
    assert make_objective("wgan").discriminator(ones * 3, ones) == -2
    assert set(OBJECTIVES) == {"minimax", "nonsaturating", "lsgan", "hinge", "wgan", "wgan-gp", "rpgan"}
    with pytest.raises(GenlabError, match="unknown GAN objective"):
        make_objective("vanilla")


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic_and_r1_for_a_flat_one():
    w = torch.randn(5)
    w = w / w.norm()
    real, fake = torch.randn(16, 5), torch.randn(16, 5)
    assert gradient_penalty(lambda x: x @ w, real, fake) < 1e-8
    assert torch.isclose(gradient_penalty(lambda x: 3 * x @ w, real, fake), torch.tensor(4.0))
    assert torch.isclose(r1_penalty(lambda x: 2 * x @ w, real), torch.tensor(2.0))
    assert r1_penalty(lambda x: x.sum(1) * 0, real) == 0


def test_gradient_penalty_is_differentiable_for_the_critic():
    critic = torch.nn.Linear(3, 1)
    gp = gradient_penalty(lambda x: critic(x).flatten(), torch.randn(8, 3), torch.randn(8, 3))
    gp.backward()
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("size, start, stages", [(28, 7, 2), (32, 4, 3), (64, 4, 4)])
def test_dcgan_shapes(size, start, stages):
    assert upsampling_plan(size) == (start, stages)
    g, d = DCGANGenerator(16, 3, size, 8), DCGANDiscriminator(3, size, 8)
    x = g(torch.randn(2, 16))
    assert x.shape == (2, 3, size, size) and x.abs().max() <= 1 and d(x).shape == (2,)


def test_pytorch_examples_dcgan_is_reproducible_by_config():
    # pytorch/examples dcgan at 64x64 RGB, nz=100, ngf=ndf=64: 3,576,704 and 2,765,568 weights (+1 head bias)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(DCGANGenerator(100, 3, 64, 64)) == 3_576_704
    assert count(DCGANDiscriminator(3, 64, 64)) == 2_765_568 + 1
    with pytest.raises(GenlabError):
        upsampling_plan(30)


def test_resolution_picks_norm_and_penalty_from_objective():
    config = apply_overrides(default_config("gan", "tiny"), ["model.objective=wgan-gp"])
    GAN.resolve_config(config.model, config.data, synthetic_images(2))
    assert (config.model.gp_weight, config.model.d_norm, config.model.arch) == (10.0, "layer", "dcgan")
    model = GAN(config.model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.discriminator.modules())


def test_n_critic_and_weight_clipping():
    model, _ = tiny_model("gan")
    model.config.objective, model.config.clip = "wgan", 0.01
    model.after_phase("d")
    assert all(p.abs().max() <= 0.01 for p in model.discriminator.parameters())
    config = apply_overrides(default_config("gan", "tiny"), ["model.n_critic=5"])
    GAN.resolve_config(config.model, config.data, synthetic_images(2))
    assert GAN(config.model).step_phases == ("d",) * 5 + ("g",)


def test_each_critic_step_sees_a_fresh_real_batch():
    from genlab.training.loop import optimization_step

    config = apply_overrides(default_config("gan", "tiny"), ["model.n_critic=3"])
    GAN.resolve_config(config.model, config.data, synthetic_images(2))
    model = GAN(config.model)
    seen = []
    real_loss = model.loss
    model.loss = lambda batch, phase: (seen.append((phase, batch[0])), real_loss(batch, phase))[1]
    batches = [(synthetic_images(4, seed=i).images.float() / 255, torch.zeros(4, dtype=torch.long)) for i in range(3)]
    optimization_step(model, model.optimizers(config.train), batches, contextlib.nullcontext)
    assert [phase for phase, _ in seen] == ["d", "d", "d", "g"]
    assert all(x is b[0] for (_, x), b in zip(seen[:3], batches))
    assert model.batches_per_step == 3


def test_a_wgan_gp_epoch_is_counted_in_generator_steps(tmp_path):
    out = tmp_path / "wgan"
    genlab.train(
        "gan", preset="tiny", overrides=TINY_TRAIN + ["model.n_critic=2", "model.objective=wgan-gp"], out=out, **QUIET
    )
    records = [r for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if r["kind"] == "epoch"]
    assert records[-1]["step"] == 256 // 64 // 2


def test_ema_decay_warms_up_so_the_average_forgets_the_initialization():
    model, _ = tiny_model("gan")
    model.step = 0
    assert model.ema_decay() == pytest.approx(0.1)
    model.step = 1_000_000
    assert model.ema_decay() == model.config.ema == 0.999
    model.step = 1562
    assert 0.99 < model.ema_decay() < 0.999


def test_ema_moves_towards_the_generator():
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    before = a.weight.clone()
    update_ema(a, b, 0.9)
    assert torch.allclose(a.weight, 0.9 * before + 0.1 * b.weight)


def test_conditional_generator_and_projection_discriminator():
    config = apply_overrides(default_config("gan", "tiny"), ["model.conditional=true"])
    GAN.resolve_config(config.model, config.data, synthetic_images(2))
    model = GAN(config.model).eval()
    assert config.model.num_classes == 10
    z = torch.randn(2, config.model.latent_dim)
    a = model.decode(z, torch.tensor([1, 1]))
    b = model.decode(z, torch.tensor([2, 2]))
    assert not torch.allclose(a, b)


def test_packing_groups_samples():
    config = apply_overrides(default_config("gan", "tiny"), ["model.pack=4"])
    GAN.resolve_config(config.model, config.data, synthetic_images(2))
    model = GAN(config.model)
    assert model.critic(torch.randn(8, 1, 28, 28), None).shape == (2,)


def test_maxout_is_the_maximum_over_its_pieces():
    layer = Maxout(2, 3, pieces=5)
    x = torch.randn(4, 2)
    pieces = (x @ layer.linear.weight.T + layer.linear.bias).reshape(4, 3, 5)  # unit-major, as documented
    assert torch.equal(layer(x), pieces.amax(2))


def test_pacgan_toy_networks_by_config():
    """PacGAN's toy nets: G 4 x 400 with batch norm, D 3 maxout layers of 200 units x 5 pieces, packed by 4."""
    config = apply_overrides(
        default_config("gan", "toy"),
        [
            "model.g_width=400",
            "model.mlp_depth=4",
            "model.mlp_batch_norm=true",
            "model.d_width=200",
            "model.mlp_d_depth=3",
            "model.mlp_maxout=5",
            "model.pack=4",
        ],
    )
    GAN.resolve_config(config.model, config.data, load_dataset("toy2d:ring8", "test"))
    model = GAN(config.model)
    g, d = model.generator.net, model.discriminator.features
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in g) == 4 and len(d) == 3
    assert all(isinstance(m, Maxout) and m.linear.out_features == 200 * 5 for m in d)
    assert d[0].linear.in_features == 2 * 4 and model.critic(torch.randn(8, 2), None).shape == (2,)
    with pytest.raises(GenlabError, match="needs images"):
        GAN(dataclasses.replace(config.model, arch="dcgan"))
    with pytest.raises(GenlabError, match="mlp_maxout"):
        GAN(apply_overrides(config, ["model.mlp_maxout=0"]).model)


def test_mode_collapse_and_dominant_discriminator_warnings():
    model, _ = tiny_model("gan")
    real = torch.rand(64, 1, 28, 28)
    assert model.diagnose(real[:1].repeat(64, 1, 1, 1) + 1e-4 * real, real)
    assert model.diagnose(torch.rand(64, 1, 28, 28), real) == []
    assert model.epoch_warnings({"train/d/loss": 1e-4}) and not model.epoch_warnings({"train/d/loss": 1.2})
    assert math.isclose(mean_pairwise_distance(torch.tensor([[0.0], [2.0]])), 2.0)


def test_toy_training_writes_scatter_and_scores_modes(tmp_path, capsys):
    from genlab.apps.cli import main

    out = tmp_path / "toy"
    genlab.train(
        "gan",
        data="toy2d:ring8",
        preset="toy",
        overrides=["train.epochs=1", "data.limit=2560", "model.g_width=32", "model.d_width=32"],
        out=out,
        **QUIET,
    )
    assert (out / "samples" / "epoch_0001.png").is_file()
    assert main(["eval", str(out), "--metrics", "modes"]) == 0
    assert "modes captured" in capsys.readouterr().out
    assert main(["eval", str(out), "--metrics", "parzen"]) == 2
    assert "parzen is for image data" in capsys.readouterr().err


def test_mnist_gan_resume_restores_both_networks_optimizers_and_ema(tmp_path):
    overrides = ["model.g_width=8", "model.d_width=8", "model.latent_dim=8"] + TINY_TRAIN
    genlab.train("gan", overrides=overrides + ["train.epochs=2"], out=tmp_path / "a", **QUIET)
    genlab.train("gan", overrides=overrides + ["train.epochs=2", "train.max_steps=5"], out=tmp_path / "b", **QUIET)
    genlab.train(out=tmp_path / "b", resume=True, overrides=["train.max_steps=none"], **QUIET)
    a, b = genlab.load(tmp_path / "a"), genlab.load(tmp_path / "b")
    sa, sb = a.state_dict(), b.state_dict()
    assert any(k.startswith("generator_ema.") for k in sa)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_goodfellow_mnist_networks_by_config():
    """Goodfellow et al. (2014): an MLP generator for images and a maxout discriminator trained with dropout."""
    config = default_config("gan", "goodfellow")
    GAN.resolve_config(config.model, config.data, synthetic_images(2))
    model = GAN(config.model)
    images = model.sample(3, generator=torch.Generator().manual_seed(0))
    assert images.shape == (3, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    linear = [m for m in model.generator.net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(100, 1200), (1200, 1200), (1200, 784)]
    d = model.discriminator
    assert len(d.features) == 2 and all(isinstance(m, Maxout) and m.linear.out_features == 240 * 5 for m in d.features)
    assert d.features[0].linear.in_features == 784
    x = torch.rand(4, 1, 28, 28)
    d.train()
    assert not torch.equal(d(x), d(x))  # dropout is on while training
    d.eval()
    assert torch.equal(d(x), d(x))
    for bad in ({"mlp_dropout": 1.0}, {"mlp_maxout": 1}, {"arch": "dcgan"}):
        with pytest.raises(GenlabError, match="mlp_dropout"):
            GAN(dataclasses.replace(config.model, **bad))

"""R3GAN's objective (Huang et al. 2024): the relativistic pairing loss, the R1 and R2 penalties, the preset."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genlab.apps.testing import run_cli
from genlab.config import apply_overrides
from genlab.errors import GenlabError
from genlab.losses import make_objective, r1_penalty, r2_penalty
from genlab.models import default_config
from genlab.models.gan import GAN
from genlab.models.translator import translator_objective
from genlab.testing import TINY_TRAIN, run_weights, synthetic_images
from genlab.testing.runs import straight_and_resumed

RPGAN = ["model.objective=rpgan", "model.r1_weight=0.5", "model.r2_weight=2"]


class Quadratic(nn.Module):
    """D(x) = sum_j w_j x_j^2 per sample: grad_x D = 2 w x, so ||grad||^2 = 4 sum_j w_j^2 x_j^2."""

    def __init__(self, dims: int, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.w = nn.Parameter(torch.linspace(-1.0, 2.0, dims, dtype=dtype))

    def forward(self, x, labels=None):
        return (self.w * x.flatten(1) ** 2).sum(1)


class Fixed(nn.Module):
    """A generator that always returns the same images."""

    def __init__(self, images):
        super().__init__()
        self.images = images

    def forward(self, z, labels=None):
        return self.images


def test_rpgan_losses_are_softplus_of_paired_logit_differences():
    real, fake = torch.tensor([1.0, 2.0, -3.0]), torch.tensor([0.5, -1.0, 4.0])
    rpgan = make_objective("rpgan")
    d_expected = sum(math.log1p(math.exp(f - r)) for r, f in zip(real.tolist(), fake.tolist())) / 3
    g_expected = sum(math.log1p(math.exp(r - f)) for r, f in zip(real.tolist(), fake.tolist())) / 3
    assert rpgan.discriminator(real, fake).item() == pytest.approx(d_expected, rel=1e-6)
    assert rpgan.generator(fake, real).item() == pytest.approx(g_expected, rel=1e-6)
    all_pairs = F.softplus(fake[None, :] - real[:, None]).mean()  # every real against every fake: not RpGAN
    assert not torch.isclose(rpgan.discriminator(real, fake), all_pairs)
    assert rpgan.paired and not rpgan.probabilistic and not make_objective("nonsaturating").paired


def test_rpgan_needs_one_real_per_fake():
    rpgan = make_objective("rpgan")
    with pytest.raises(GenlabError, match="one to one"):
        rpgan.discriminator(torch.zeros(4), torch.zeros(3))
    with pytest.raises(GenlabError, match="real logits"):
        rpgan.generator(torch.zeros(4))
    with pytest.raises(GenlabError, match="pairs each fake with a real"):
        translator_objective("cyclegan", "rpgan")


@pytest.mark.parametrize("penalty", [r1_penalty, r2_penalty])
def test_r1_and_r2_are_half_the_mean_squared_input_gradient_with_the_right_parameter_gradient(penalty):
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(0)).requires_grad_()  # as if G's output
    d = Quadratic(4)
    value = penalty(d, x)
    expected = 0.5 * (4 * d.w**2 * x**2).sum(1).mean()  # gamma/2 E ||grad||^2 with gamma = 1
    assert torch.allclose(value, expected, rtol=1e-6)
    value.backward()
    assert torch.allclose(d.w.grad, 4 * d.w.detach() * (x.detach() ** 2).mean(0), rtol=1e-5)  # d/dw_j
    assert x.grad is None  # the input is detached: no gradient reaches it (R2 never trains G)


@pytest.mark.parametrize("penalty", [r1_penalty, r2_penalty])
def test_penalty_gradients_pass_gradcheck_in_float64(penalty):
    x = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    conv = nn.Conv1d(1, 2, 2).double()  # a nonlinear critic: its input gradient depends on x and the weights

    def critic_penalty(weight, bias):
        def critic(h):
            return torch.tanh(F.conv1d(h[:, None], weight, bias)).sum((1, 2))

        return penalty(critic, x)

    assert torch.autograd.gradcheck(
        critic_penalty, (conv.weight.detach().requires_grad_(), conv.bias.detach().requires_grad_())
    )


def rpgan_model(settings: list[str]) -> GAN:
    config = apply_overrides(default_config("gan", "tiny"), settings)
    GAN.resolve_config(config.model, config.data, synthetic_images(2, size=8))
    return GAN(config.model)


def test_the_discriminator_loss_adds_gamma_r1_on_reals_and_gamma_r2_on_fakes():
    model = rpgan_model(RPGAN)
    real, fake = torch.rand(4, 1, 8, 8) * 2 - 1, torch.rand(4, 1, 8, 8) * 0.5
    model.discriminator, model.generator = Quadratic(64), Fixed(fake)
    out = model.loss((real, torch.zeros(4, dtype=torch.long)), "d")
    w2 = model.discriminator.w.detach() ** 2
    r1, r2 = (2 * (w2 * x.flatten(1) ** 2).sum(1).mean() for x in (real, fake))
    assert torch.allclose(out["r1"], r1) and torch.allclose(out["r2"], r2) and not torch.isclose(r1, r2)
    d = model.discriminator
    adversarial = F.softplus(d(fake) - d(real)).mean()
    assert torch.allclose(out["loss"], adversarial + 0.5 * r1 + 2 * r2)
    g_loss = model.loss((real, torch.zeros(4, dtype=torch.long)), "g")["loss"]
    assert torch.allclose(g_loss, F.softplus(d(real) - d(fake)).mean())


def test_the_generator_loss_pairs_every_fake_with_a_real_and_trains_g_only():
    model = rpgan_model(RPGAN)
    x = torch.rand(6, 1, 8, 8) * 2 - 1
    loss = model.loss((x, torch.zeros(6, dtype=torch.long)), "g")["loss"]
    loss.backward()
    assert math.isfinite(loss.item()) and all(p.grad is not None for p in model.generator.parameters())


def test_r3gan_preset_and_validation(capsys, tmp_path):
    config = default_config("gan", "r3gan")
    GAN.resolve_config(config.model, config.data, synthetic_images(2))
    m = config.model
    assert (m.objective, m.r1_weight == m.r2_weight > 0, m.d_norm, tuple(config.train.betas)) == (
        "rpgan",
        True,
        "none",
        (0.0, 0.99),
    )
    assert m.ema > 0 and GAN(m).compile_targets() == ["generator"]  # no double backward through compile
    assert (m.g_width, m.d_width) == (32, 32)  # the nets of the documented Stacked MNIST result
    for bad in ("-1", "nan"):
        with pytest.raises(GenlabError, match=r"r2_weight must be (finite and >= 0|a finite number)"):
            rpgan_model([f"model.r2_weight={bad}"])
    code, _, err = run_cli(
        capsys,
        "train",
        "gan",
        "--preset",
        "tiny",
        "--set",
        "model.r2_weight=-0.5",
        "--set",
        "data.limit=64",
        "--out",
        tmp_path / "r",
    )
    assert code == 2 and err.count("\n") == 1 and "model.r2_weight" in err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    settings = RPGAN + TINY_TRAIN + ["train.epochs=2", "train.eval_images=0"]
    return straight_and_resumed("gan", "mnist", "tiny", settings, tmp_path_factory.mktemp("rpgan"), stop=5)


def test_a_tiny_rpgan_trains_on_mnist_with_finite_losses_and_both_penalties_logged(runs):
    straight, _, _ = runs
    steps = [r for r in map(json.loads, (straight / "metrics.jsonl").read_text().splitlines()) if r["kind"] == "step"]
    assert steps and steps[-1]["step"] == 8
    for record in steps:
        values = [record[k] for k in ("d/loss", "g/loss", "d/r1", "d/r2", "d/D(x)", "d/D(G(z))")]
        assert all(math.isfinite(v) for v in values) and record["d/r1"] > 0 and record["d/r2"] > 0


def test_an_rpgan_run_resumes_exactly(runs):
    straight, split, state = runs
    assert state["loop"]["step"] == 5
    a, b = run_weights(straight), run_weights(split)
    assert any(k.startswith("generator_ema.") for k in a) and a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow  # torchrun
def test_two_replicas_train_rpgan_with_both_penalties_like_one_process(tmp_path):
    """Pairs, R1 and R2 are batch means, so the all-reduced mean of two half batches is the full batch's."""
    from test_distributed import GAN
    from test_distributed import test_two_replicas_equal_one_process_with_the_same_global_batch as check

    check({**GAN, "overrides": GAN["overrides"] + RPGAN}, tmp_path)

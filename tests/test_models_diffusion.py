"""The diffusion model: its U-Net, each objective on a tiny model, every sampler on a tiny trained run, classifier-free
guidance, the EMA denoiser and exact resume."""

from __future__ import annotations

import json

import pytest
import torch

from genlab.errors import GenlabError
from genlab.losses.diffusion import make_diffusion_objective
from genlab.models.diffusion import Sampling
from genlab.nn.unet import ResidualBlock, SelfAttention, UNet
from genlab.ops.diffusion import SOLVERS
from genlab.runs import load_run
from genlab.testing import TINY_TRAIN, run_weights, tiny_model
from genlab.testing.runs import straight_and_resumed

pytestmark = pytest.mark.usefixtures("one_thread")
SETTINGS = TINY_TRAIN + ["train.epochs=2", "train.eval_images=0", "train.grid_size=4"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny conditional diffusion run on 256 MNIST digits, trained straight and stopped after 3 steps then resumed."""
    settings = SETTINGS + ["model.conditional=true"]
    return straight_and_resumed("diffusion", "mnist", "tiny", settings, tmp_path_factory.mktemp("diffusion"), stop=3)


def model_with(objective: str = "edm", **changes):
    model, _ = tiny_model("diffusion")
    for name, value in {"objective": objective, **changes}.items():
        setattr(model.config, name, value)
    model.objective = make_diffusion_objective(model.config)
    return model


@pytest.mark.parametrize("channels, size, levels", [(1, 28, 3), (3, 32, 4), (3, 64, 4)])
def test_the_unet_keeps_the_shape_and_attends_at_the_lowest_resolutions(channels, size, levels):
    widths = (8, 16, 16, 16)[:levels]
    net = UNet(channels, size, widths, blocks=1, attention_size=8, num_classes=10)
    x = torch.randn(2, channels, size, size)
    assert net(x, torch.tensor([3.0, 700.0]), torch.tensor([1, 10])).shape == x.shape
    attended = [m for m in net.modules() if isinstance(m, SelfAttention)]
    low_levels = sum(size // 2**i <= 8 for i in range(levels))
    assert low_levels and len(attended) == 1 + 3 * low_levels  # the middle; per level <= 8 px, 1 down and 2 up stages
    assert net(x, torch.tensor([3.0, 700.0])).shape == x.shape  # no labels: the no-label embedding


@pytest.mark.parametrize("widths", [(8, 16), (32, 64)])
def test_the_noise_level_and_the_label_reach_every_residual_block(widths):
    """Adaptive group norm (Dhariwal & Nichol 2021): an embedding added before a GroupNorm of one channel per
    group would be normalised away; scaled and shifted after it, it changes each block's output."""
    torch.manual_seed(0)
    net = UNet(1, 28, widths, blocks=1, attention_size=8, num_classes=10)
    for p in net.parameters():  # the zero-initialised output convolutions would hide every input
        torch.nn.init.normal_(p, std=0.1)
    outputs = []
    for block in (m for m in net.modules() if isinstance(m, ResidualBlock)):
        block.register_forward_hook(lambda module, args, out: outputs.append(out))
    x = torch.randn(1, 1, 28, 28)
    for level, label in ((3.0, 1), (700.0, 1), (3.0, 5)):
        net(x, torch.tensor([level]), torch.tensor([label]))
    n = len(outputs) // 3
    base, other_level, other_label = outputs[:n], outputs[n : 2 * n], outputs[2 * n :]
    assert all((a - b).abs().max() > 1e-3 for a, b in zip(base, other_level))
    assert all((a - b).abs().max() > 1e-3 for a, b in zip(base, other_label))


def test_an_image_size_the_levels_cannot_halve_is_one_line():
    with pytest.raises(GenlabError, match="image size of 28 cannot be halved 3 times") as info:
        UNet(1, 28, (8, 16, 16, 16), 1, 8)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("objective", ["ddpm", "flow", "edm"])
def test_each_objective_trains_the_tiny_model(objective):
    model = model_with(objective)
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    loss = model.loss((x, torch.arange(4)), "main")["loss"]
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is not None for p in model.network.parameters())


def test_label_dropout_hides_labels_in_training_only():
    model, _ = tiny_model("diffusion")
    model.config.conditional, model.config.num_classes, model.config.label_dropout = True, 10, 0.25
    y = torch.arange(4000) % 10
    seen = model.training_labels(y)
    assert (seen == 10).float().mean().item() == pytest.approx(0.25, abs=0.03)
    assert torch.equal(seen[seen != 10], y[seen != 10])
    model.eval()
    assert torch.equal(model.training_labels(y), y)


def test_guidance_zero_is_the_conditional_prediction_and_w_extrapolates_from_the_unconditional(runs):
    model, _ = load_run(runs[0])
    x, sigma, labels = torch.randn(6, 1, 28, 28), torch.full((6,), 2.0), torch.arange(6)
    conditional, unconditional = model.denoise(x, sigma, labels), model.denoise(x, sigma, None)
    assert torch.equal(model.denoise(x, sigma, labels, guidance=0.0), conditional)
    assert not torch.allclose(conditional, unconditional)
    guided = model.denoise(x, sigma, labels, guidance=2.0)  # Ho & Salimans 2021, Eq. 6
    assert torch.allclose(guided, 3 * conditional - 2 * unconditional, atol=1e-5)


@pytest.mark.parametrize("sampler", sorted(SOLVERS))
def test_every_sampler_draws_from_a_tiny_trained_run_by_seed(runs, sampler):
    model, _ = load_run(runs[0])
    draw = lambda seed: model.sample(4, torch.Generator().manual_seed(seed), sampler=sampler, steps=3, guidance=1.0)  # noqa: E731
    a, b = draw(0), draw(0)
    assert a.shape == (4, 1, 28, 28) and a.min() >= 0 and a.max() <= 1 and torch.equal(a, b)
    assert not torch.equal(a, draw(1))
    assert model.last_evaluations == (5 if sampler == "heun" else 3)


def test_sampling_uses_the_ema_denoiser(runs):
    model, _ = load_run(runs[0])
    before = model.sample(2, torch.Generator().manual_seed(0))
    with torch.no_grad():
        for p in model.network.parameters():
            p.add_(1.0)
    assert torch.equal(model.sample(2, torch.Generator().manual_seed(0)), before)
    assert not torch.equal(model.network_ema.stem.weight, model.network.stem.weight)


def test_a_tiny_run_trains_with_finite_losses_and_resumes_exactly_with_its_ema(runs):
    straight, split, state = runs
    steps = [r for r in map(json.loads, (straight / "metrics.jsonl").read_text().splitlines()) if r["kind"] == "step"]
    assert steps and all(r["loss"] == r["loss"] for r in steps)
    assert state["loop"]["step"] == 3
    a, b = run_weights(straight), run_weights(split)
    assert any(k.startswith("network_ema.") for k in a) and a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    "choices, message",
    [
        ({"sampler": "heun", "eta": 0.5}, "--eta is for the ddim sampler, not heun"),
        ({"sampler": "ddim", "eta": 1.5}, r"--eta must be in \[0, 1\]"),
        ({"sampler": "ddpm", "steps": 1001}, "--steps must be in 1..1000 for ddpm"),
        ({"steps": 0}, "--steps must be at least 1 for heun"),
        ({"guidance": 1.0}, "--guidance needs a class-conditional model"),
        ({"sampler": "rk4"}, "unknown sampler 'rk4'"),
    ],
)
def test_sampling_options_a_model_cannot_use_are_one_line(choices, message):
    model = model_with("ddpm")
    with pytest.raises(GenlabError, match=message) as info:
        model.use_sampling(**choices)
    assert "\n" not in str(info.value) and model.default_sampling() == Sampling("heun", 3)


def test_chosen_sampling_becomes_the_default_of_sample():
    model = model_with("flow")
    assert model.use_sampling(sampler="ddim", steps=2, eta=None) == Sampling("ddim", 2)
    model.sample(2, torch.Generator().manual_seed(0))
    assert model.last_evaluations == 2


def test_points_are_refused_in_one_line():
    from genlab.models import default_config
    from genlab.runs import resolve_model_config
    from genlab.testing import synthetic_points

    with pytest.raises(GenlabError, match="diffusion models learn images"):
        resolve_model_config(default_config("diffusion", "tiny"), synthetic_points(8))

"""SimGAN refiner: networks, self-regularization, history mixing, training/resume and translate."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from torch import nn

import genlab
from genlab.apps.testing import run_cli
from genlab.errors import GenlabError
from genlab.models.history import HistoryPool
from genlab.models.refiner import Refiner, self_regularization
from genlab.nn.resnet import RefinerNet
from genlab.runs import load_config
from genlab.testing import Halve, domain_batch, run_weights, synthetic_images, tiny_model
from genlab.testing.runs import straight_and_resumed

pytestmark = pytest.mark.usefixtures("one_thread")
SETTINGS = [
    "model.image_size=28",
    "model.pool_size=4",
    "train.batch_size=4",
    "train.epochs=2",
    "data.test_fraction=0.2",
    "train.eval_images=8",
]


@pytest.mark.parametrize("channels, size, patches", [(1, 28, 12), (3, 32, 14)])
def test_refiner_keeps_the_shape_and_d_gives_a_local_logit_map(channels, size, patches):
    x = torch.rand(2, channels, size, size) * 2 - 1
    out = RefinerNet(channels, width=4, blocks=2)(x)
    assert out.shape == x.shape and out.abs().max() <= 1
    model, _ = tiny_model("refiner", channels=channels, size=size)
    assert model.disc(x).shape == (2, 1, patches, patches)  # 16x16-pixel patches, one logit each
    refined = model.translate(torch.rand(3, channels, size, size))
    assert refined.shape == (3, channels, size, size) and refined.min() >= 0 and refined.max() <= 1


def test_self_regularization_is_the_mean_l1_to_the_synthetic_input():
    refined, synthetic = torch.tensor([[[[0.5, -1.0], [1.0, 0.0]]]]), torch.zeros(1, 1, 2, 2)
    assert self_regularization(refined, synthetic) == pytest.approx((0.5 + 1 + 1 + 0) / 4)
    model, _ = tiny_model("refiner")
    x, y = domain_batch(model)
    model.refiner = nn.Identity()
    assert model.loss((x, y), "g")["self_reg"] == 0
    model.refiner, model.step = Halve(), model.config.warmup_steps  # past the warm-up
    out = model.loss((x, y), "g")
    synthetic = x[y == 0]  # only domain A (synthetic) is refined
    assert torch.allclose(out["self_reg"], (0.5 * synthetic - synthetic).abs().mean())
    assert torch.allclose(out["loss"], out["adv"] + model.config.self_reg * out["self_reg"])
    model.step = 0  # warm-up (tiny: 1 step): self-regularization alone
    assert torch.allclose(model.loss((x, y), "g")["loss"], model.config.self_reg * out["self_reg"])


def test_history_pool_gives_half_old_images_once_full():
    torch.manual_seed(0)
    pool = HistoryPool(6)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query_half(first), first) and len(pool) == 4  # filling: returned as is
    assert torch.equal(pool.query_half(first + 10), first + 10) and len(pool) == 6  # 2 of the 4 fit
    for step in range(20):
        fresh = torch.full((5, 1, 1, 1), 100.0 + step)
        out = pool.query_half(fresh)
        assert out.shape == fresh.shape and torch.equal(out[:3], fresh[:3])
        assert int((out < 100 + step).sum()) == 2 and len(pool) == 6  # n // 2 from the history
        assert int((pool.images == 100 + step).sum()) == 2  # the drawn slots now hold this batch's rest


class Spy(nn.Module):
    """A discriminator that records what it is shown."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.seen = inner, []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.inner(x)


def test_discriminator_sees_half_history_images_once_the_pool_is_full():
    model, _ = tiny_model("refiner")
    model.train()
    marker = 5.0  # outside tanh's range: cannot come from the refiner
    model.pool.images = torch.full((model.config.pool_size, 1, 28, 28), marker)
    model.disc = Spy(model.disc)
    x, y = domain_batch(model, n=6)
    model.loss((x, y), "g")
    model.disc.seen.clear()
    model.loss((x, y), "d")
    real, fake = model.disc.seen
    assert torch.equal(real, x[y == 1]) and len(fake) == 6
    from_pool = (fake == marker).flatten(1).all(1)
    assert from_pool.tolist() == [False] * 3 + [True] * 3
    assert int((model.pool.images == marker).flatten(1).all(1).sum()) == model.config.pool_size - 3


def test_a_batch_with_one_domain_still_gives_finite_losses():
    model, _ = tiny_model("refiner")
    x, _ = domain_batch(model)
    for domain in (0, 1):
        y = torch.full((len(x),), domain)
        for phase in model.phases:
            out = model.loss((x, y), phase)
            assert torch.isfinite(out["loss"])
            out["loss"].backward()


def test_refiner_refuses_data_that_is_not_two_domains_and_b2a():
    config = genlab.models.default_config("refiner", "tiny")
    with pytest.raises(GenlabError, match="unpaired:DIR_A,DIR_B"):
        Refiner.resolve_config(config.model, config.data, synthetic_images(8))
    model, _ = tiny_model("refiner")
    with pytest.raises(GenlabError, match="a2b"):
        model.translate(torch.rand(1, 1, 28, 28), "b2a")


def write_domains(root, n=12):
    """Domain A (synthetic): clean squares; domain B (real): the same squares with noise."""
    gen = torch.Generator().manual_seed(0)
    for domain in ("A", "B"):
        (root / domain).mkdir(parents=True)
    for i in range(n):
        img = Image.new("L", (28, 28), 0)
        ImageDraw.Draw(img).rectangle([6 + i % 5, 6, 20, 20 + i % 4], fill=200)
        img.save(root / "A" / f"a{i}.png")
        pixels = torch.from_numpy(np.asarray(img, dtype=np.float32)) + 30 * torch.randn(28, 28, generator=gen)
        Image.fromarray(pixels.clamp(0, 255).to(torch.uint8).numpy(), "L").save(root / "B" / f"b{i}.png")
    return root / "A", root / "B"


@pytest.fixture(scope="module")
def domains(tmp_path_factory):
    return write_domains(tmp_path_factory.mktemp("squares"))


@pytest.fixture(scope="module")
def runs(domains, tmp_path_factory):
    """The same tiny refiner trained straight through, and stopped after 3 steps then resumed."""
    data = f"unpaired:{domains[0]},{domains[1]}"
    return straight_and_resumed("refiner", data, "tiny", SETTINGS, tmp_path_factory.mktemp("refiner"))


def test_training_writes_refinement_grids_and_resumes_exactly(runs):
    straight, split, interrupted = runs
    assert interrupted["loop"]["step"] == 3 and interrupted["model"]["pool.images"].shape == (4, 1, 28, 28)
    grid = Image.open(straight / "refinements" / "epoch_0002.png")
    assert grid.size[0] == 2 * 28 + 3 * 2  # synthetic | refined
    assert (straight / "checkpoint" / "model.safetensors").is_file()
    config = load_config(straight / "config.json")
    assert config.train.betas == (0.5, 0.999) and config.model.objective == "nonsaturating"
    a, b = run_weights(straight), run_weights(split)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    pools = [torch.load(r / "checkpoint" / "train_state.pt", weights_only=True)["model"] for r in runs[:2]]
    assert pools[0].keys() == {"pool.images"} and torch.equal(pools[0]["pool.images"], pools[1]["pool.images"])


def test_translate_refines_a2b_and_refuses_b2a_in_one_line(capsys, runs, domains, tmp_path):
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "translate", runs[0], "--direction", "a2b", domains[0], "--out", out, "--grid")
    assert code == 0, err
    assert (out / "a3.png").is_file() and Image.open(out / "a3.png").size == (28, 28)
    assert Image.open(out / "grid_a2b.png").size[0] == 2 * (2 * 28 + 3 * 2)  # input | refined, scale 2
    code, _, err = run_cli(capsys, "translate", runs[0], "--direction", "b2a", domains[1], "--out", tmp_path / "o")
    assert code == 2 and "a2b" in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()

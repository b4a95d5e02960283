"""CycleGAN: networks, losses, history pool, linear decay, unpaired data, training/resume and translate."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from torch import nn

import genlab
from genlab.apps.testing import run_cli
from genlab.data import load_dataset
from genlab.errors import GenlabError
from genlab.models.cyclegan import CycleGAN
from genlab.models.history import HistoryPool
from genlab.nn.resnet import PatchDiscriminator, ResnetGenerator
from genlab.runs import load_config, save_checkpoint
from genlab.testing import Halve, domain_batch, run_weights, synthetic_images, tiny_model
from genlab.testing.runs import trained_both_ways, write_domains
from genlab.training.loop import lr_factor

pytestmark = pytest.mark.usefixtures("one_thread")
SETTINGS = [
    "model.image_size=32",
    "model.pool_size=4",
    "train.batch_size=4",
    "train.epochs=2",
    "data.test_fraction=0.15",
    "train.eval_images=8",
]


@pytest.mark.parametrize("size, layers, patches", [(28, 2, 5), (32, 2, 6), (64, 3, 6)])
@pytest.mark.parametrize("channels", [1, 3])
def test_generator_keeps_the_shape_and_patchgan_gives_a_logit_map(size, layers, patches, channels):
    x = torch.rand(2, channels, size, size) * 2 - 1
    out = ResnetGenerator(channels, size, width=4, blocks=2)(x)
    assert out.shape == x.shape and out.abs().max() <= 1
    assert PatchDiscriminator(channels, size, width=4, layers=layers)(x).shape == (2, 1, patches, patches)


def test_a_generator_loads_the_weights_of_the_layout_before_trunk_and_decoder():
    """Runs saved when one Sequential ``net`` held the trunk and the up-sampling load into trunk and decoder."""
    torch.manual_seed(0)
    saved, fresh = ResnetGenerator(1, 16, width=4, blocks=2), ResnetGenerator(1, 16, width=4, blocks=2)
    length = len(saved.trunk)
    old = {
        f"net.{int(k.split('.')[1]) + (length if k.startswith('decoder') else 0)}.{k.split('.', 2)[2]}": v
        for k, v in saved.state_dict().items()
    }
    assert "net.1.weight" in old and f"net.{length}.weight" in old  # c7s1's conv and the first up-sampling
    assert not fresh.load_state_dict(old, strict=True).missing_keys
    x = torch.rand(2, 1, 16, 16)
    assert torch.equal(fresh(x), saved(x))


def test_paper_sized_networks_and_clear_size_errors():
    assert PatchDiscriminator(3, 256, 64, 3)(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)  # 70x70 PatchGAN
    with pytest.raises(GenlabError, match="multiple of 4"):
        ResnetGenerator(1, 30)
    with pytest.raises(GenlabError, match="too small"):
        PatchDiscriminator(1, 16, 4, layers=4)


def test_cycle_and_identity_terms():
    model, _ = tiny_model("cyclegan")
    x, y = domain_batch(model)
    a, b = x[y == 0], x[y == 1]
    for generator in (model.gen_ab, model.gen_ba):  # G = F = identity: the trunk and the decoder pass x through
        generator.trunk, generator.decoder = nn.Identity(), nn.Identity()
    out = model.loss((x, y), "g")
    assert out["cycle"] == 0 and out["identity"] == 0
    model.gen_ab.decoder = Halve()  # G(x) = x / 2, F = identity
    out = model.loss((x, y), "g")
    expected_cycle = (0.5 * a - a).abs().mean() + (0.5 * b - b).abs().mean()  # F(G(a)) = a/2, G(F(b)) = b/2
    expected_identity = (0.5 * b - b).abs().mean()  # F(a) = a exactly, G(b) = b/2
    assert torch.allclose(out["cycle"], expected_cycle) and torch.allclose(out["identity"], expected_identity)
    c = model.config
    total = c.adv_weight * out["adv"] + c.cycle_weight * (out["cycle"] + c.identity_ratio * out["identity"])
    assert torch.allclose(out["loss"], total) and (c.adv_weight, c.cycle_weight, c.identity_ratio) == (2, 10, 0.5)


def test_a_batch_with_one_domain_still_gives_finite_losses():
    model, _ = tiny_model("cyclegan")
    x, _ = domain_batch(model)
    y = torch.zeros(len(x), dtype=torch.long)
    for phase in model.phases:
        out = model.loss((x, y), phase)
        assert torch.isfinite(out["loss"])
        out["loss"].backward()


def test_history_pool_fills_then_mixes_old_and_new_images():
    torch.manual_seed(0)
    pool = HistoryPool(4)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first), first) and len(pool) == 4  # filling: returned as is
    old, total = 0, 0
    for step in range(200):
        fresh = torch.full((2, 1, 1, 1), 100.0 + step)
        out = pool.query(fresh)
        assert len(pool) == 4 and out.shape == fresh.shape
        old += int((out < 100 + step).sum())
        total += len(out)
    assert 0.4 < old / total < 0.6  # each image is swapped for a stored one with probability 1/2
    restored = HistoryPool(4)
    restored.load_state(pool.state())
    assert torch.equal(restored.images, pool.images)


def test_linear_decay_is_constant_then_linear_to_the_floor():
    assert [lr_factor("linear_decay", s, 100, 0.0) for s in (0, 50, 75, 100, 120)] == [1.0, 1.0, 0.5, 0.0, 0.0]
    assert lr_factor("linear_decay", 100, 100, 0.1) == pytest.approx(0.1)
    assert lr_factor("linear_decay", 75, 100, 0.1) == pytest.approx(0.55)
    with pytest.raises(GenlabError, match="linear_decay"):
        lr_factor("step", 0, 100, 0.0)


def test_unpaired_data_is_one_interleaved_labelled_set(tmp_path):
    a, b = write_domains(tmp_path)
    data = load_dataset(f"unpaired:{a},{b}", "train", image_size=32, test_fraction=0.0)
    assert data.images.shape == (32, 3, 32, 32) and data.classes == ["A", "B"]  # B (8) repeated to A's 16
    assert data.labels[:4].tolist() == [0, 1, 0, 1] and int(data.labels.sum()) == 16
    again = load_dataset(f"unpaired:{a},{b}", "train", image_size=32, test_fraction=0.0)
    assert torch.equal(again.images, data.images)  # seeded
    mixed = load_dataset(f"unpaired:mnist,{a}", "test", image_size=28, channels=1, test_fraction=0.5)
    assert mixed.images.shape == (20_000, 1, 28, 28) and (mixed.labels[1::2] == 1).all()
    for spec, message in (("unpaired:mnist", "two domains"), (f"unpaired:{a},nosuchdata", "unknown dataset")):
        with pytest.raises(GenlabError, match=message):
            load_dataset(spec)


def test_cyclegan_refuses_data_that_is_not_two_domains():
    config = genlab.models.default_config("cyclegan", "tiny")
    with pytest.raises(GenlabError, match="unpaired:DIR_A,DIR_B"):
        CycleGAN.resolve_config(config.model, config.data, synthetic_images(8))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return trained_both_ways("cyclegan", SETTINGS, tmp_path_factory.mktemp("cyclegan"))


@pytest.fixture(scope="module")
def domains(trained):
    return trained[0]


@pytest.fixture(scope="module")
def runs(trained):
    """The same tiny CycleGAN trained straight through, and stopped after 3 steps then resumed."""
    return trained[1]


def test_training_writes_translation_grids_and_resumes_exactly(runs):
    straight, split, interrupted = runs
    assert interrupted["loop"]["step"] == 3 and interrupted["model"]["pool_a2b.images"].shape == (4, 3, 32, 32)
    for name in ("translations_a2b", "translations_b2a"):
        grid = Image.open(straight / name / "epoch_0002.png")
        assert grid.size[0] == 3 * 32 + 4 * 2  # input | translated | cycled back
    config = load_config(straight / "config.json")
    assert config.train.lr_schedule == "linear_decay" and config.train.betas == (0.5, 0.999)
    a, b = run_weights(straight), run_weights(split)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    pools = [torch.load(r / "checkpoint" / "train_state.pt", weights_only=True)["model"] for r in runs[:2]]
    assert pools[0].keys() == pools[1].keys() and all(torch.equal(pools[0][k], pools[1][k]) for k in pools[0])


def test_translate_writes_folder_outputs_and_a_grid(capsys, runs, domains, tmp_path):
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "translate", runs[0], "--direction", "a2b", domains[0], "--out", out, "--grid")
    assert code == 0, err
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    expected = sorted(p.relative_to(domains[0]).as_posix() for p in domains[0].rglob("*.png"))
    assert written == sorted(expected + ["grid_a2b.png"]) and "sub/a0.png" in written
    assert Image.open(out / "a1.png").size == (32, 32) and Image.open(out / "a1.png").mode == "RGB"
    code, _, err = run_cli(capsys, "translate", runs[0], "--direction", "a2b", domains[0], "--out", out)
    assert code == 2 and "--force" in err and err.count("\n") == 1
    code, _, err = run_cli(
        capsys, "translate", runs[0], "--direction", "b2a", domains[1] / "b0.png", "--out", out, "--force"
    )
    assert code == 0 and (out / "b0.png").is_file()


def test_translate_mistakes_are_one_line(capsys, runs, tmp_path):
    model, config = tiny_model("vae")
    save_checkpoint(tmp_path / "vae", model, config)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    for argv, message in (
        (["translate", tmp_path / "vae", "--direction", "a2b", bad], "cannot translate"),
        (["translate", runs[0], "--direction", "a2b", tmp_path / "nope"], "does not exist"),
        (["translate", runs[0], "--direction", "a2b", bad], "cannot read image"),
        (["translate", runs[0], "--direction", "up", bad], "invalid choice"),
    ):
        code, _, err = run_cli(capsys, *argv, "--out", tmp_path / "o")
        assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err

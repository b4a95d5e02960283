"""UNIT (Liu et al. 2017): shared layers, the shared latent space, the losses, training/resume, sampling both
domains, translation, evaluation and adaptation."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

import genlab
from genlab.apps.adapt import translator_direction
from genlab.apps.testing import run_cli
from genlab.errors import GenlabError
from genlab.evaluation import evaluate
from genlab.export.graphs import Decode, graphs_of
from genlab.models.unit import UNIT, per_dimension_kl
from genlab.ops import DiagonalGaussian
from genlab.runs import load_run
from genlab.samplers import paired_samples, plug_and_play, sample_images, seeded
from genlab.testing import domain_batch, run_weights, tiny_model
from genlab.testing.runs import trained_both_ways

pytestmark = pytest.mark.usefixtures("one_thread")
SETTINGS = [
    "model.image_size=32",
    "train.batch_size=4",
    "train.epochs=2",
    "data.test_fraction=0.15",
    "train.eval_images=8",
]


def test_the_shared_layers_are_one_module_that_both_domains_pass_through():
    model, _ = tiny_model("unit")
    calls = []
    for shared in (model.shared_encoder, model.shared_generator):
        shared.register_forward_hook(lambda module, args, out: calls.append(module))
    x, _ = domain_batch(model)
    for domain in (0, 1):
        model.generate(model.posterior(x, domain).mean, domain)
    assert calls == [model.shared_encoder, model.shared_generator] * 2
    params = model.generator_parameters()
    assert len({id(p) for p in params}) == len(params)  # each shared weight once in the optimizer
    assert not any(k.startswith(("encoders.", "generators.")) and "shared" in k for k in model.state_dict())
    for domain in (0, 1):  # either domain's loss trains the shared weights
        model.zero_grad()
        y = torch.full((len(x),), domain)
        model.loss((x, y), "g")["loss"].backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.shared_encoder.parameters())
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.shared_generator.parameters())


def test_translation_goes_through_the_shared_code():
    model, _ = tiny_model("unit")
    model.eval()
    x = torch.rand(3, 1, 28, 28)
    code = model.encode(model.prepare(x), "a")
    assert code.shape == (3, model.config.latent_dim) == (3, 4 * 4 * 7 * 7)
    torch.testing.assert_close(model.translate(x, "a2b"), model.decode(code, domain="b"))
    torch.testing.assert_close(model.translate(x, "a2b"), model.render(code, domain="b").detach())
    pair = model.decode_pair(code)
    assert pair.shape == (3, 2, 1, 28, 28)
    torch.testing.assert_close(pair[:, 0], model.decode(code, domain="a"))


def test_losses_are_the_papers_weighted_sum_and_the_kl_is_per_dimension():
    model, _ = tiny_model("unit")
    c = model.config
    assert (c.gan_weight, c.kl_weight, c.recon_weight, c.cycle_kl_weight, c.cycle_weight) == (10, 0.1, 100, 0.1, 100)
    x, y = domain_batch(model)
    torch.manual_seed(0)
    out = model.loss((x, y), "g")
    total = 10 * out["adv"] + 0.1 * out["kl"] + 100 * out["recon"] + 0.1 * out["cycle_kl"] + 100 * out["cycle"]
    torch.testing.assert_close(out["loss"], total)
    mean = torch.randn(5, 3, 2, 2)
    torch.testing.assert_close(
        per_dimension_kl(DiagonalGaussian(mean, torch.zeros_like(mean))), (mean**2 / 2).mean()
    )  # q = N(mu, I): KL = |mu|^2 / 2
    d = model.loss((x, y), "d")
    assert torch.isfinite(d["loss"]) and set(d) == {"loss", "D_A", "D_B"}


def test_bad_options_are_one_line():
    config = genlab.models.default_config("unit", "tiny")
    config.model.channels, config.model.image_size, config.model.d_layers = 1, 28, 2
    config.model.latent_dim = 4 * 4 * 7 * 7
    for field, value, message in (
        ("shared_blocks", 3, "shared_blocks"),
        ("kl_weight", -1.0, "loss weights"),
        ("image_size", 30, "multiple of 4"),
    ):
        bad = genlab.models.default_config("unit", "tiny").model
        bad.__dict__.update(config.model.__dict__, **{field: value})
        with pytest.raises(GenlabError, match=message):
            UNIT(bad)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two tiny domains, and a tiny UNIT trained on them straight through and stopped after 3 steps then resumed."""
    return trained_both_ways("unit", SETTINGS, tmp_path_factory.mktemp("unit"))


def test_training_resumes_exactly_and_draws_both_domains(trained):
    straight, split, _ = trained[1]
    a, b = run_weights(straight), run_weights(split)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    for name, width in (("translations_a2b", 3), ("translations_b2a", 3), ("samples_paired", 2)):
        assert Image.open(straight / name / "epoch_0002.png").size[0] == width * 32 + (width + 1) * 2


@pytest.mark.slow  # forty training steps of a UNIT
def test_training_makes_the_round_trip_through_the_shared_code_faithful():
    model, _ = tiny_model("unit")
    coarse = torch.rand(8, 1, 4, 4, generator=seeded(0)) * 2 - 1  # smooth images a small net can rebuild
    x, y = torch.nn.functional.interpolate(coarse, size=28, mode="bilinear"), torch.tensor([0, 1]).repeat(4)
    a, b = x[y == 0], x[y == 1]

    def error():
        with torch.no_grad():
            model.eval()
            errors = [
                (model.decode(model.encode(v, d), domain=d) * 2 - 1 - v).abs().mean() for v, d in ((a, "a"), (b, "b"))
            ]
            model.train()
        return torch.stack(errors)

    before = error()
    optimizer = torch.optim.Adam(model.generator_parameters(), lr=2e-3)
    for _ in range(40):
        optimizer.zero_grad()
        model.loss((x, y), "g")["loss"].backward()
        optimizer.step()
    assert (error() < 0.5 * before).all()


def test_sample_draws_one_domain_or_pairs_from_one_code(capsys, trained, tmp_path):
    runs = trained[1]
    model, _ = load_run(runs[0])
    b = sample_images(model, 4, seed=3, domain="b")
    torch.testing.assert_close(paired_samples(model, 4, seed=3)[:, 1], b)
    code, _, err = run_cli(capsys, "sample", runs[0], "-n", "3", "-o", tmp_path / "pair.png")
    assert code == 0, err
    assert Image.open(tmp_path / "pair.png").size == (2 * (2 * 32 + 3 * 2), 2 * (3 * 32 + 4 * 2))  # rows: A | B, x2
    code, _, err = run_cli(capsys, "sample", runs[0], "-n", "4", "--domain", "b", "-o", tmp_path / "b.png")
    assert code == 0, err
    code, _, err = run_cli(capsys, "sample", runs[0], "-n", "4", "--format", "npz", "-o", tmp_path / "x.npz")
    assert code == 2 and "--domain" in err and err.count("\n") == 1 and not (tmp_path / "x.npz").exists()


def test_domain_on_a_one_domain_model_is_one_line(capsys, tiny_run, tmp_path):
    code, _, err = run_cli(capsys, "sample", tiny_run, "--domain", "a", "-o", tmp_path / "s.png")
    assert code == 2 and "two image domains" in err and err.count("\n") == 1
    with pytest.raises(GenlabError, match="shared by two domains"):
        paired_samples(load_run(tiny_run)[0], 2)


def test_plug_and_play_decodes_into_the_chosen_domain(trained):
    model, _ = load_run(trained[1][0])
    guide = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(3))
    guide(torch.zeros(1, 3, 32, 32))
    result = plug_and_play(model, guide, 1, n=2, steps=0, seed=4, domain="b")
    torch.testing.assert_close(result.images, model.decode(model.prior_sample(2, seeded(4)), domain="b"))
    longer = plug_and_play(model, guide, 1, n=8, steps=20, eps1=0, eps2=1.0, eps3=0, seed=4, domain="a")
    assert longer.log_probs[-1].mean() > longer.log_probs[0].mean()


def test_eval_translate_and_adapt_treat_unit_as_a_two_way_translator(capsys, trained, tmp_path):
    domains, runs = trained
    result = evaluate(runs[0], ["cycle"], images=8)
    assert result["cycle"]["cycle_l1_a"] > 0 and result["cycle"]["cycle_l1_b"] > 0
    code, _, err = run_cli(capsys, "translate", runs[0], "--direction", "b2a", domains[1], "--out", tmp_path / "t")
    assert code == 0 and len(list((tmp_path / "t").glob("*.png"))) == 8, err
    assert translator_direction(runs[0], f"folder:{domains[1]}", f"folder:{domains[0]}")[1] == "b2a"


def test_export_writes_a_decoder_and_an_encoder_per_domain():
    model, _ = tiny_model("unit")
    model.eval()
    names = [g.name for g in graphs_of(model)]
    assert names == ["decoder_a", "decoder_b", "encoder_a", "encoder_b", "translate_a2b", "translate_b2a"]
    assert [g.name for g in graphs_of(model) if g.sampled(model)] == ["decoder_a"]
    z = model.prior_sample(2, seeded(0))
    torch.testing.assert_close(Decode(model, "b")(z), model.decode(z, domain="b"))

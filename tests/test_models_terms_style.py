"""Style codes for the two-way translators (MUNIT-style): AdaIN carries the style past instance norm, the losses
gain the style reconstruction, translations draw styles reproducibly, and a styled run resumes exactly."""

from __future__ import annotations

import pytest
import torch

from genlab.apps.testing import run_cli
from genlab.errors import GenlabError
from genlab.models.registry import get_model_class
from genlab.nn.resnet import ResnetGenerator
from genlab.nn.style import StyleEncoder
from genlab.samplers import seeded, translate_images
from genlab.testing import domain_batch, run_weights, tiny_model
from genlab.testing.runs import trained_both_ways

pytestmark = pytest.mark.usefixtures("one_thread")
FAMILIES = ("cyclegan", "unit")


def styled_model(name: str, dim: int = 3, diversity: float = 0.0):
    """A tiny translator of ``name`` with style codes of ``dim`` numbers (and mode seeking at weight ``diversity``),
    on 3-channel 28-px images."""
    model, config = tiny_model(name, channels=3)
    config.model.style_dim, config.model.diversity_weight = dim, diversity
    torch.manual_seed(0)
    return get_model_class(name)(config.model), config


def test_the_style_changes_the_image_where_instance_norm_would_erase_a_constant():
    generator = ResnetGenerator(3, 28, width=4, blocks=1, style_dim=3)
    x = torch.rand(2, 3, 28, 28, generator=seeded(0)) * 2 - 1
    one, other = torch.zeros(2, 3), torch.randn(2, 3, generator=seeded(1))
    assert generator(x, one).shape == x.shape
    assert (generator(x, one) - generator(x, other)).abs().mean() > 1e-3
    assert torch.equal(generator(x, one), generator(x, one.clone()))
    with pytest.raises(GenlabError, match="style"):
        generator(x)
    assert StyleEncoder(3, 4, 5)(x).shape == (2, 5)


def test_style_codes_do_not_rename_the_generators_weights():
    """A styled generator holds the same parts as a plain one; its trunk's weights have the same names."""
    plain, styled = ResnetGenerator(1, 16, width=4, blocks=2), ResnetGenerator(1, 16, width=4, blocks=2, style_dim=3)
    names = [{k for k in g.state_dict()} for g in (plain, styled)]
    assert [{k.split(".")[0] for k in n} for n in names] == [{"trunk", "decoder"}] * 2
    trunks = [{k for k in n if k.startswith("trunk.")} for n in names]
    assert trunks[0] == trunks[1] and len(trunks[0]) > 10
    for name in FAMILIES:  # a styled translator adds the style term's encoders, under terms
        parts = [{k.split(".")[0] for k in m.state_dict()} for m in (tiny_model(name)[0], styled_model(name)[0])]
        assert parts[1] == parts[0] | {"terms"}, name


@pytest.mark.parametrize("name", FAMILIES)
def test_a_styled_translator_adds_the_style_reconstruction_and_a_plain_one_does_not(name):
    plain, _ = tiny_model(name, channels=3)
    x, y = domain_batch(plain)
    assert plain.styles is None and "style" not in plain.loss((x, y), "g")
    model, _ = styled_model(name)
    torch.manual_seed(0)
    out = model.loss((x, y), "g")
    assert out["style"] > 0 and torch.isfinite(out["loss"])
    model.config.style_weight = 0
    torch.manual_seed(0)
    without = model.loss((x, y), "g")
    assert torch.allclose(out["loss"] - without["loss"], out["style"], atol=1e-5)  # style_weight 1 by default
    encoders = {id(p) for p in model.styles.parameters()}
    assert encoders <= {id(p) for p in model.generator_parameters()}  # trained with the generators


@pytest.mark.parametrize("name", FAMILIES)
def test_the_style_term_is_the_encoders_error_on_the_drawn_style(name):
    model, _ = styled_model(name)
    x, y = domain_batch(model)
    drawn, draw = [], model.draw_style
    model.draw_style = lambda like: drawn.append(draw(like)) or drawn[-1]  # record each direction's styles
    out = model.loss((x, y), "g")
    fakes = model._fakes[1]
    expected = sum(
        (model.styles.encode(fakes[d], 1 - i) - s).abs().mean() for i, (d, s) in enumerate(zip(("a2b", "b2a"), drawn))
    )  # a2b's fakes are read by B's encoder
    assert len(drawn) == 2 and torch.allclose(out["style"], expected, atol=1e-6)


@pytest.mark.parametrize("name", FAMILIES)
def test_translations_draw_different_styles_and_are_reproducible_from_translate_images(name):
    model, _ = styled_model(name)
    model.eval()
    images = torch.rand(6, 3, 28, 28, generator=seeded(0))
    first, second = model.translate(images), model.translate(images)
    assert not torch.equal(first, second)  # a fresh style per call
    assert torch.equal(translate_images(model, images), translate_images(model, images))
    state = torch.random.get_rng_state()
    translate_images(model, images)
    assert torch.equal(torch.random.get_rng_state(), state)  # the seed does not leak into the caller's stream


def test_bad_style_settings_are_one_clear_line():
    for field, value in (("style_dim", -1), ("style_weight", -0.5), ("diversity_weight", -1.0), ("style_dim", 0)):
        model, config = tiny_model("cyclegan")
        config.model.style_dim, config.model.diversity_weight = 2, 1.0
        setattr(config.model, field, value)
        with pytest.raises(GenlabError, match="style"):
            get_model_class("cyclegan")(config.model)


@pytest.fixture(scope="module", params=FAMILIES)
def styled_runs(request, tmp_path_factory):
    """A tiny styled translator of each family trained on two small domains straight through, and stopped after 3
    steps then resumed: (family, domains, straight run, split run)."""
    settings = [
        "model.image_size=28",
        "model.style_dim=2",
        "train.batch_size=4",
        "train.epochs=1",
        "data.test_fraction=0.15",
        "train.eval_images=8",
    ]
    domains, (straight, split, _) = trained_both_ways(request.param, settings, tmp_path_factory.mktemp("style"))
    return request.param, domains, straight, split


def test_a_styled_run_resumes_exactly(styled_runs):
    _, _, straight, split = styled_runs
    a, b = run_weights(straight), run_weights(split)
    assert any(k.startswith("terms.style_codes.encoders.") for k in a)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_genlab_translate_draws_styles_from_its_seed(styled_runs, capsys, tmp_path):
    _, domains, run, _ = styled_runs
    outputs = {}
    for name, seed in (("first", 0), ("again", 0), ("other", 1)):
        code, _, err = run_cli(
            capsys, "translate", run, domains[0], "--direction", "a2b", "--out", tmp_path / name, "--seed", seed
        )
        assert code == 0, err
        outputs[name] = [
            (tmp_path / name / p.relative_to(domains[0])).read_bytes() for p in sorted(domains[0].rglob("*.png"))
        ]
    assert outputs["first"] == outputs["again"] and outputs["first"] != outputs["other"]


def test_unit_samples_draw_styles_while_decode_keeps_the_prior_mean_style():
    model, _ = styled_model("unit")
    model.eval()
    sampled = model.sample(4, seeded(0), domain="b")
    assert torch.equal(sampled, model.sample(4, seeded(0), domain="b"))  # reproducible from the generator
    codes = model.prior_sample(4, seeded(0))  # the codes sample() drew first
    decoded = model.decode(codes, domain="b")
    assert not torch.equal(sampled, decoded)  # the samples' own styles
    assert torch.equal(decoded, model.render(codes, domain="b", style=torch.zeros(4, 3)))


@pytest.mark.parametrize("name", FAMILIES)
def test_mode_seeking_is_subtracted_and_vanishes_for_a_generator_that_ignores_the_style(name):
    model, _ = styled_model(name, diversity=2.0)
    x, y = domain_batch(model)
    out = model.loss((x, y), "g")
    assert out["diversity"] > 0 and torch.allclose(model.terms_loss(out), out["style"] - 2.0 * out["diversity"])
    if name == "cyclegan":  # the whole loss: the generator maximizes the diversity
        c = model.config
        base = c.adv_weight * out["adv"] + c.cycle_weight * (out["cycle"] + c.identity_ratio * out["identity"])
        assert torch.allclose(out["loss"], base + out["style"] - 2.0 * out["diversity"], atol=1e-4)
    model.config.diversity_weight = 0.0
    assert "diversity" not in model.loss((x, y), "g")
    decoders = [m for m in model.modules() if hasattr(m, "affine") and isinstance(m.affine, torch.nn.Linear)]
    with torch.no_grad():
        for norm in decoders:
            norm.affine.weight.zero_()  # AdaIN's scale and shift no longer depend on the style
    model.config.diversity_weight = 1.0
    assert model.loss((x, y), "g")["diversity"] == 0

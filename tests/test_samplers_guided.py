"""Steering and editing with a diffusion model: classifier guidance (Dhariwal & Nichol 2021) moves samples toward the
guide's class by its weight, SDEdit (Meng et al. 2022) keeps an input at strength 0 and leaves it further the
stronger it is, and a guided model samples like any other (one class, reproducible)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from genlab.errors import GenlabError
from genlab.samplers import SDEditTranslator, classifier_guidance, sample_batches, translate_images
from genlab.testing import tiny_model

pytestmark = pytest.mark.usefixtures("one_thread")


class Brightness(nn.Module):
    """A two-class 'classifier' of images in [0, 1]: class 1 the brighter, its logit 20 x the mean pixel."""

    num_classes, name = 2, "brightness"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.flatten(1).mean(1)
        return torch.stack([-10 * mean, 10 * mean], 1)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def model():
    model, _ = tiny_model("diffusion")
    return model.eval()


def test_classifier_guidance_moves_samples_toward_the_class_by_its_weight(model):
    mean_of = {}
    for label, scale in ((1, 0.0), (1, 2.0), (1, 20.0), (0, 20.0)):
        model.guide_with(Brightness() if scale else None, scale or 1.0)
        labels = torch.full((16,), label)
        mean_of[label, scale] = model.sample(16, seeded(), labels=labels, steps=6).mean().item()
    model.guide_with(None)
    assert mean_of[1, 0.0] < mean_of[1, 2.0] < mean_of[1, 20.0]  # brighter with the weight toward class 1
    assert mean_of[0, 20.0] < mean_of[1, 0.0]  # and darker toward class 0


def test_guidance_without_a_label_or_with_a_bad_weight_is_one_line(model):
    with pytest.raises(GenlabError, match="must be > 0"):
        model.guide_with(Brightness(), 0.0)
    model.guide_with(Brightness(), 1.0)
    try:
        with pytest.raises(GenlabError, match="needs --label"):
            model.sample(2, seeded(), steps=2)
    finally:
        model.guide_with(None)


def test_a_guided_model_samples_its_class_reproducibly_in_batches(model):
    guided = classifier_guidance(model, Brightness(), label=1, scale=5.0)
    draw = lambda: torch.cat(list(sample_batches(guided, 5, seed=3, batch_size=2, label=1)))  # noqa: E731
    first, again = draw(), draw()
    assert first.shape == (5, 1, 28, 28) and torch.equal(first, again)
    assert guided.num_classes == 2 and guided.supports("sample") and not guided.supports("encode")
    assert model.guide is None  # the model itself is left unguided between draws
    with pytest.raises(GenlabError, match=r"--label must be in 0\.\.1"):
        classifier_guidance(model, Brightness(), label=2)


def test_sdedit_keeps_the_input_at_strength_zero_and_moves_away_with_strength(model):
    images = torch.rand(8, 1, 28, 28, generator=seeded(5))
    assert torch.allclose(model.edit(images, 0.0, seeded()), images, atol=1e-6)
    distance = [(model.edit(images, s, seeded(), steps=12) - images).abs().mean().item() for s in (0.2, 0.6, 1.0)]
    assert distance[0] < distance[1] < distance[2]
    assert torch.equal(model.edit(images, 0.6, seeded(1)), model.edit(images, 0.6, seeded(1)))
    with pytest.raises(GenlabError, match=r"--strength must be in \[0, 1\]"):
        model.edit(images, 1.5)


def test_sdedit_translates_one_way_like_a_translator_with_seeded_noise(model):
    translator = SDEditTranslator(model, 0.5)
    images = (torch.rand(6, 1, 28, 28, generator=seeded(2)) * 255).to(torch.uint8)
    first, again = translate_images(translator, images, seed=4), translate_images(translator, images, seed=4)
    assert first.dtype == torch.uint8 and first.shape == images.shape and torch.equal(first, again)
    assert not torch.equal(first, translate_images(translator, images, seed=5))
    assert translator.round_trip(images.float() / 255).shape == (6, 2, 1, 28, 28)
    with pytest.raises(GenlabError, match="translates a2b only"):
        translate_images(translator, images, direction="b2a")
    vae, _ = tiny_model("vae")
    with pytest.raises(GenlabError, match="not a diffusion model"):
        SDEditTranslator(vae, 0.5)

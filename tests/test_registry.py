"""The registry: a model defined outside genlab's files registers by name and then trains, saves, loads and
samples like a built-in one (README, "Adding a model")."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

import genlab
from genlab.errors import GenlabError
from genlab.models import GenerativeModel, get_model_class, model_names, register, registry
from genlab.testing import TINY_TRAIN


@dataclass
class MeanImageConfig:
    image_size: int = 0
    channels: int = 0


class MeanImage(GenerativeModel):
    """A model of one learned image: the loss pulls it towards the data's mean."""

    Config = MeanImageConfig
    presets = {"tiny": []}

    def __init__(self, config: MeanImageConfig):
        super().__init__(config)
        self.image = nn.Parameter(torch.zeros(config.channels, config.image_size, config.image_size))

    @classmethod
    def resolve_config(cls, config, data, dataset) -> None:
        config.channels, config.image_size = dataset.channels, dataset.image_size

    def loss(self, batch, phase):
        return {"loss": (batch[0] - self.image).square().mean()}

    @torch.no_grad()
    def sample(self, n, generator=None):
        return self.image.clamp(0, 1).expand(n, -1, -1, -1)


@pytest.fixture
def registered():
    register("test-mean-image")(MeanImage)
    yield MeanImage
    registry.MODELS.unregister("test-mean-image")


def test_a_model_registered_outside_genlab_trains_saves_and_loads(registered, tmp_path):
    assert "test-mean-image" in model_names() and get_model_class("test-mean-image") is MeanImage
    genlab.train(
        "test-mean-image",
        preset="tiny",
        overrides=TINY_TRAIN + ["data.binarize=none"],
        out=tmp_path / "run",
        echo=lambda s: None,
    )
    model = genlab.load(tmp_path / "run")
    assert type(model) is MeanImage and model.image.abs().sum() > 0  # trained, saved and loaded by name
    assert model.sample(2).shape == (2, 1, 28, 28)
    assert (tmp_path / "run" / "samples" / "epoch_0001.png").is_file()  # the default per-epoch pictures


def test_unknown_names_get_one_line():
    with pytest.raises(GenlabError, match="unknown model 'nope'; choose one of: autoencoder"):
        get_model_class("nope")


# -- the Registry class (genlab.registry) --------------------------------------------------------------------
def test_a_registry_finds_what_was_registered_in_order_by_call_or_decorator():
    from genlab.registry import Registry

    things = Registry("thing")
    assert things.register("b", 2) == 2

    @things.register("a")
    def a_function():
        return 1

    assert things.get("a") is a_function and things.get("b") == 2  # the decorator gives back what it decorates
    assert things.names() == ["b", "a"] and list(things) == ["b", "a"] and len(things) == 2
    assert things.items() == [("b", 2), ("a", a_function)] and dict(things.entries) == {"b": 2, "a": a_function}
    assert "a" in things and "c" not in things and 3 not in things
    assert things.unregister("b") == 2 and things.names() == ["a"] and "b" not in things.entries


def test_a_duplicate_name_is_refused_and_the_first_entry_kept():
    from genlab.registry import Registry

    things = Registry("thing")
    things.register("x", 1)
    with pytest.raises(GenlabError, match="^thing 'x' is already registered$"):
        things.register("x", 2)
    with pytest.raises(GenlabError, match="already registered"):
        things.register("x")(lambda: None)
    assert things.get("x") == 1


def test_an_unknown_name_is_one_line_listing_the_choices():
    from genlab.registry import Registry

    datasets = Registry("dataset", choice=lambda name, entry: f"{name}:{entry}" if entry else name)
    datasets.register("mnist", "")
    datasets.register("folder", "PATH")
    for name in ("foo", None, ["mnist"]):
        with pytest.raises(GenlabError) as caught:
            datasets.get(name)
        assert str(caught.value) == f"unknown dataset {name!r}; choose one of: folder:PATH, mnist"
    with pytest.raises(GenlabError, match="unknown dataset 'gone'"):
        datasets.unregister("gone")


def test_every_kind_of_thing_is_found_through_a_registry():
    """Models, metrics, GAN objectives, likelihoods and datasets: each lookup's unknown name is the same line."""
    from genlab.data import dataset_spec
    from genlab.evaluation import get_metric
    from genlab.losses import make_likelihood, make_objective

    for lookup, kind in (
        (get_model_class, "model"),
        (get_metric, "metric"),
        (make_objective, "GAN objective"),
        (make_likelihood, "likelihood"),
        (dataset_spec, "dataset"),
    ):
        with pytest.raises(GenlabError, match=f"^unknown {kind} 'nope'; choose one of: "):
            lookup("nope")
    assert type(make_objective("hinge")).__name__ == "Hinge" and make_likelihood("gaussian_learned").learned

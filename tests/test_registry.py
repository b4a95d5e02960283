"""The registry: a model defined outside genlab's files registers by name and then trains, saves, loads and
samples like a built-in one (README, "Adding a model")."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

import genlab
from genlab.errors import GenlabError
from genlab.models import GenerativeModel, get_model_class, model_names, register
from genlab.models import registry

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
    genlab.train("test-mean-image", preset="tiny", overrides=TINY_TRAIN + ["data.binarize=none"], out=tmp_path / "run",
                 echo=lambda s: None)
    model = genlab.load(tmp_path / "run")
    assert type(model) is MeanImage and model.image.abs().sum() > 0  # trained, saved and loaded by name
    assert model.sample(2).shape == (2, 1, 28, 28)
    assert (tmp_path / "run" / "samples" / "epoch_0001.png").is_file()  # the default per-epoch pictures


def test_unknown_names_get_one_line():
    with pytest.raises(GenlabError, match="unknown model 'nope'; choose one of: autoencoder"):
        get_model_class("nope")

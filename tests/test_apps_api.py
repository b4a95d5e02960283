"""genlab.train for scripts and notebooks (apps/api.py): arrays, tensors and Datasets as data, config values as
keywords or a dict, a temporary run, callbacks added to the defaults with per-step hooks, the model returned."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import genlab
from genlab.errors import GenlabError
from genlab.training import Callback

QUIET = {"echo": lambda s: None}
TINY = {"widths": (8, 16), "hidden": 32, "latent_dim": 4}


def digits(n: int = 64) -> np.ndarray:
    """n seeded gray 16x16 images as uint8 [N, H, W]: bright squares at random places."""
    rng = np.random.default_rng(0)
    images = np.zeros((n, 16, 16), np.uint8)
    for image, (row, col) in zip(images, rng.integers(0, 10, (n, 2))):
        image[row : row + 6, col : col + 6] = 255
    return images


class Steps(Callback):
    """Counts the per-step hooks and keeps the logged step records."""

    def __init__(self) -> None:
        self.ended, self.records = 0, []

    def on_step_end(self, trainer) -> None:
        self.ended += 1

    def on_step_logged(self, trainer, record) -> None:
        self.records.append(record)


def test_arrays_train_in_a_temporary_run_and_the_model_comes_back():
    steps = Steps()
    model = genlab.train("vae", digits(), epochs=2, batch_size=16, grid_size=4, callbacks=[steps], **TINY, **QUIET)
    assert model.sample(3).shape == (3, 1, 16, 16)
    assert model.run_config.train.epochs == 2 and model.config.latent_dim == 4
    assert (model.run_dir / "checkpoint" / "README.md").is_file()  # the default epoch work ran too (the card)
    assert (model.run_dir / "loss_curve.svg").is_file()
    steps_per_epoch = (len(digits()) - round(0.05 * len(digits()))) // 16
    assert steps.ended == 2 * steps_per_epoch and steps.records and steps.records[-1]["step"] <= steps.ended


def test_tensors_datasets_and_a_dict_of_overrides(tmp_path):
    images = torch.from_numpy(digits()).float() / 255  # floats are read as [0, 1]
    labels = torch.arange(len(images)) % 2
    dataset = torch.utils.data.TensorDataset(images.unsqueeze(1), labels)
    overrides = {"train.epochs": 1, "train.batch_size": 16, "model.widths": [8, 16], "model.hidden": 32}
    model = genlab.train("vae", dataset, out=tmp_path / "run", overrides=overrides, **QUIET)
    assert model.run_dir == tmp_path / "run" and model.run_config.model.widths == (8, 16)
    again = genlab.load(tmp_path / "run")
    assert again.sample(1).shape == (1, 1, 16, 16)


@pytest.mark.parametrize(
    "data, options, message",
    [
        (np.zeros((4, 2, 16, 16)), {}, "data must be images"),
        (np.zeros((0, 16, 16)), {}, "data must be images"),
        ((np.zeros((4, 16, 16)), np.array([0, 1])), {}, "labels must be 4 class numbers"),
        (None, {"nope": 1}, "nope=1, which is no section's keys"),
        (None, {"seed": 1, "overrides": "train.epochs=1"}, "not one string"),
    ],
)
def test_mistakes_are_one_line(data, options, message, tmp_path):
    with pytest.raises(GenlabError, match=message):
        genlab.train("vae", data, out=tmp_path / "run", **options, **QUIET)

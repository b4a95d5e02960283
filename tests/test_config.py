"""Run configs: JSON round trip, typed dotted overrides, presets, clear errors."""

from __future__ import annotations

import json

import pytest

from genlab.config import RunConfig, apply_overrides
from genlab.errors import GenlabError
from genlab.models import default_config, model_names, run_config


@pytest.mark.parametrize("name", model_names())
def test_config_round_trips_through_json(name):
    config = apply_overrides(default_config(name, "tiny"), ["train.lr=3e-4", "train.betas=0.5,0.9"])
    again = run_config(json.loads(config.to_json()))
    assert again.to_dict() == config.to_dict()
    assert again.train.betas == (0.5, 0.9) and again.model == config.model


def test_overrides_are_typed():
    config = apply_overrides(
        default_config("vae"),
        [
            "train.lr=1e-4",
            "train.epochs=3",
            "model.widths=4, 8",
            "train.max_steps=none",
            "data.limit=10",
            "train.betas=0.5,0.9",
        ],
    )
    assert config.train.lr == pytest.approx(1e-4) and isinstance(config.train.epochs, int)
    assert config.model.widths == (4, 8) and config.train.max_steps is None and config.data.limit == 10
    assert config.train.betas == (0.5, 0.9)


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.nope=1", "unknown config key 'model.nope'"),
        ("train.lr=fast", "train.lr expects float"),
        ("train.epochs=2.5", "train.epochs expects int"),
        ("optim.lr=1", "must start with model., data. or train."),
        ("train.lr", "must look like section.key=value"),
    ],
)
def test_bad_overrides_are_one_line_errors(override, message):
    with pytest.raises(GenlabError, match=message) as info:
        apply_overrides(default_config("vae"), [override])
    assert "\n" not in str(info.value)


def test_presets_apply_and_unknown_preset_is_an_error():
    assert default_config("vae", "quick").model.widths == (16, 32)
    with pytest.raises(GenlabError, match="no preset 'huge'"):
        default_config("vae", "huge")


def test_unknown_model_and_foreign_config():
    with pytest.raises(GenlabError, match="unknown model"):
        default_config("pixelcnn")
    with pytest.raises(GenlabError, match="not a genlab run config"):
        run_config({"hello": 1})
    with pytest.raises(GenlabError, match="not a genlab run config"):
        RunConfig.from_dict({"hello": 1}, dict)

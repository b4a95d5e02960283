"""Stacked MNIST: three MNIST digits as the channels of one image (1,000 modes), and its mode-coverage protocol."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import genlab.evaluation.samples as sample_metrics
from genlab.data import load_dataset
from genlab.data.mnist import mnist_arrays
from genlab.data.stackedmnist import stack_digits
from genlab.evaluation import score
from genlab.metrics.modes import stacked_mode_coverage


def test_each_channel_is_a_digit_and_the_label_names_the_three_digits():
    digits = np.arange(5, dtype=np.uint8)[:, None, None] * np.ones((1, 2, 2), np.uint8)  # digit i: all pixels i
    labels = np.array([3, 1, 4, 1, 5])
    images, modes = stack_digits(digits, labels, 50, seed=7)
    again, _ = stack_digits(digits, labels, 50, seed=7)
    assert images.shape == (50, 3, 2, 2) and np.array_equal(images, again)
    for image, mode in zip(images, modes):
        picked = [int(channel[0, 0]) for channel in image]
        assert mode == 100 * labels[picked[0]] + 10 * labels[picked[1]] + labels[picked[2]]


def test_the_built_in_dataset_has_1000_modes_and_mnist_digits_in_every_channel():
    data = load_dataset("stackedmnist", "test")
    assert data.images.shape == (10000, 3, 28, 28) and data.images.dtype == torch.uint8
    assert len(data.classes) == 1000 and data.labels.unique().numel() == 1000
    mnist = mnist_arrays()
    test_digits = {d.tobytes(): label for d, label in zip(mnist["test_images"], mnist["test_labels"])}
    for image, mode in zip(data.images[:20].numpy(), data.labels[:20].tolist()):
        assert [test_digits[c.tobytes()] for c in image] == [mode // 100, mode // 10 % 10, mode % 10]


def test_mode_counts_kl_and_confidence_on_known_readings():
    every = torch.arange(1000)
    digits = torch.stack([every // 100, every // 10 % 10, every % 10], dim=1)
    sure = torch.nn.functional.one_hot(digits, 10).double()
    result = stacked_mode_coverage(sure)
    assert result["modes"] == 1000 and result["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    assert result["high_quality"] == 1.0 and result["low_confidence"] == 0.0
    collapsed = stacked_mode_coverage(sure[:1].repeat(200, 1, 1))
    assert collapsed["modes"] == 1 and collapsed["reverse_kl"] == pytest.approx(math.log(1000))
    unsure = sure.clone()
    unsure[:500, 0] = 0.6 * unsure[:500, 0] + 0.04  # the red digit of half the samples read at 0.64
    read = stacked_mode_coverage(unsure)
    assert read["modes"] == 1000 and read["low_confidence"] == pytest.approx(500 / 3000)
    assert read["high_quality"] == pytest.approx(0.5)


@pytest.mark.slow  # the digit network reads 6,000 real digits
def test_eval_modes_on_real_stacked_digits_finds_the_modes_they_hold(tiny_run, monkeypatch):
    from genlab.runs import load_run

    model, config = load_run(tiny_run)
    config.data.name = "stackedmnist"
    real = load_dataset("stackedmnist", "test").images[:2000].float() / 255
    monkeypatch.setattr(
        sample_metrics, "model_batches", lambda model, n, seed, batch_size=500: iter(real[:n].split(batch_size))
    )
    result = score(model, config, ["modes"], mode_samples=2000)["modes"]
    present = load_dataset("stackedmnist", "test").labels[:2000].unique().numel()
    assert result["samples"] == 2000 and result["total_modes"] == 1000
    assert abs(result["modes"] - present) <= 15  # the digit network misreads a few digits
    assert result["low_confidence"] < 0.03 and result["provenance"]["extractor"].startswith("digits")
    # the second counter, digits-plain, reads the same real digits alike
    assert result["provenance"]["second_counter"] == "digits-plain"
    assert abs(result["second_modes"] - present) <= 15 and result["counters_agree"] > 0.95


def test_modes_on_stacked_mnist_are_stored_under_the_metric_name(tiny_run):
    from genlab.evaluation.scoring import stored_key
    from genlab.metrics.extractors import DEFAULT_DIGIT_EXTRACTOR
    from genlab.runs import load_config

    config = load_config(tiny_run / "checkpoint")
    config.data.name = "stackedmnist"
    assert stored_key("modes", {"provenance": {"extractor": DEFAULT_DIGIT_EXTRACTOR}}, config) == "modes"
    assert stored_key("modes", {"provenance": {"extractor": "pixel-stats"}}, config) == "modes@pixel-stats"

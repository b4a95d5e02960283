"""The classifier model and the digit feature extractor built on it (shipped weights, torchmetrics FID)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
import torch.nn.functional as F

import genlab
from genlab.apps.cli import main
from genlab.data.mnist import load_mnist
from genlab.errors import GenlabError
from genlab.metrics import extractors
from genlab.metrics.extractors import DigitFeatures, export_classifier, load_extractor, sha256_file
from genlab.models.classifier import random_shift
from genlab.testing import TINY_TRAIN


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory):
    """The tiny classifier preset trained for one short epoch on 256 MNIST images."""
    out = tmp_path_factory.mktemp("runs") / "clf"
    genlab.train("classifier", preset="tiny", overrides=TINY_TRAIN, out=out, echo=lambda s: None)
    return out


@pytest.fixture(scope="module")
def digits():
    return DigitFeatures("digits")  # v1: still shipped and loadable for old runs (the default is digits-v2)


@pytest.fixture(scope="module")
def mnist_test():
    return load_mnist("test")


def test_tiny_classifier_trains_and_logs_accuracy(classifier_run):
    records = [json.loads(line) for line in (classifier_run / "metrics.jsonl").read_text().splitlines()]
    epoch = [r for r in records if r["kind"] == "epoch"][-1]
    assert 0 <= epoch["train/accuracy"] <= 1 and 0 <= epoch["test/accuracy"] <= 1
    assert epoch["test/loss"] > 0
    config = json.loads((classifier_run / "config.json").read_text())
    assert config["data"]["binarize"] == "none" and config["model"]["num_classes"] == 10
    assert not (classifier_run / "samples").exists()  # a classifier cannot sample


def test_sample_on_a_classifier_fails_in_one_line(capsys, classifier_run, tmp_path):
    assert main(["sample", str(classifier_run), "-o", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot draw samples" in err and "\n" not in err and not (tmp_path / "s.png").exists()


def test_random_shift_moves_whole_images_within_the_limit():
    x = torch.zeros(64, 1, 9, 9)
    x[:, :, 4, 4] = 1
    shifted = random_shift(x, 2, torch.Generator().manual_seed(0))
    where = shifted.flatten(1).argmax(1)
    rows, cols = where.div(9, rounding_mode="floor"), where % 9
    assert shifted.sum() == 64 and rows.min() == 2 and rows.max() == 6 and cols.min() == 2 and cols.max() == 6


# --- DigitFeatures ----------------------------------------------------------------------------------


def test_uint8_float_and_gray_rgb_inputs_give_the_same_features(digits, mnist_test):
    images = mnist_test.images[:16]
    base = digits(images)
    assert base.shape == (16, digits.num_features) and base.dtype == torch.float32
    assert torch.allclose(digits(images.float() / 255), base, atol=1e-4)
    assert torch.allclose(digits(images.expand(-1, 3, -1, -1)), base, atol=1e-4)
    assert torch.allclose(digits(images.expand(-1, 3, -1, -1).float() / 255), base, atol=1e-4)


def test_any_input_size_and_logits(digits, mnist_test):
    images = mnist_test.images[:4]
    for size in (32, 299):
        x = F.interpolate(images.float(), size=(size, size), mode="bilinear").round().to(torch.uint8)
        assert digits(x.expand(-1, 3, -1, -1)).shape == (4, digits.num_features)
    assert digits.logits(images).shape == (4, 10)
    with pytest.raises(GenlabError, match="expects images"):
        digits(torch.zeros(2, 2, 28, 28))


def test_shipped_weights_are_recorded_and_classify_mnist(digits, mnist_test):
    record = json.loads((extractors.WEIGHTS_DIR / "digits.json").read_text())
    assert digits.name == "digits" and digits.weights_sha256 == record["sha256"]
    assert sha256_file(extractors.WEIGHTS_DIR / "digits.safetensors") == record["sha256"]
    assert record["test_accuracy"] >= 0.993
    predicted = digits.logits(mnist_test.images[:500]).argmax(1)
    assert (predicted == mnist_test.labels[:500]).float().mean() >= 0.98


def test_extractor_stays_in_eval_mode(digits, mnist_test):
    digits.train()
    assert not digits.training and not digits.classifier.training
    x = mnist_test.images[:8]
    assert torch.equal(digits(x), digits(x))


def test_run_folders_and_exported_files_load(classifier_run, tmp_path):
    from_run = load_extractor(classifier_run)
    assert isinstance(from_run, DigitFeatures) and from_run.num_features == 16
    assert from_run.weights_sha256 == sha256_file(classifier_run / "checkpoint" / "model.safetensors")
    exported = tmp_path / "net.safetensors"
    assert export_classifier(classifier_run, exported, torch.float32) == sha256_file(exported)
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(load_extractor(exported)(x), from_run(x))
    module = torch.nn.Identity()
    assert load_extractor(module) is module


def test_extractor_errors_are_one_line(tmp_path, monkeypatch, tiny_run):
    garbage = tmp_path / "bad.safetensors"
    garbage.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00not json")
    cases = [
        (tmp_path / "missing.safetensors", "no feature extractor"),
        (garbage, "cannot read"),
        (tiny_run, "'vae'"),
        (tmp_path, "not a genlab run"),
        (3, "a name, a path or an nn.Module"),
    ]
    for source, message in cases:
        with pytest.raises(GenlabError, match=message) as info:
            load_extractor(source)
        assert "\n" not in str(info.value)
    shipped = extractors.WEIGHTS_DIR
    monkeypatch.setattr(extractors, "WEIGHTS_DIR", tmp_path / "weights")
    with pytest.raises(GenlabError, match="missing"):
        load_extractor("digits")
    shutil.copytree(shipped, tmp_path / "weights")
    (tmp_path / "weights" / "digits.json").write_text(json.dumps({"sha256": "0" * 64}))
    with pytest.raises(GenlabError, match="corrupt"):
        load_extractor("digits")


def test_torchmetrics_fid_on_digit_features(digits, mnist_test):
    from torchmetrics.image import fid as fid_module  # in the test extra

    def fid(a, b, size=28):
        """torchmetrics' FID of two uint8 digit sets, fed as RGB images of ``size`` pixels."""
        metric = fid_module.FrechetInceptionDistance(feature=digits)
        for images, real in ((a, True), (b, False)):
            rgb = F.interpolate(images.float(), size=(size, size), mode="bilinear").round().to(torch.uint8)
            metric.update(rgb.expand(-1, 3, -1, -1), real=real)
        return float(metric.compute())

    images, labels = mnist_test.images[:600], mnist_test.labels[:600]
    first, second = images[:200], images[200:400]
    ones = images[labels == 1][:60].repeat(4, 1, 1, 1)[:200]
    same = fid(first, first, size=299)  # what torchmetrics feeds Inception: uint8 [N, 3, 299, 299]
    similar, different = fid(first, second), fid(first, ones)
    assert abs(same) < 1e-3 and similar > 100 * abs(same) and different > 5 * similar

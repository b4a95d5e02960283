"""The robust digit feature network v2 (issue 16): augmentation ops, exact resume with them, the shipped
`digits-v2` weights next to v1, and v1/v2 scores kept apart."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import load_file

import genlab
from genlab.config import RunConfig
from genlab.data.mnist import load_mnist
from genlab.evaluation.scoring import default_extractor, stored_key
from genlab.metrics import extractors
from genlab.metrics.extractors import DEFAULT_DIGIT_EXTRACTOR, SHIPPED, DigitFeatures, load_extractor, sha256_file
from genlab.metrics.features import extractor_identity
from genlab.ops.augment import (
    add_noise,
    affine,
    dilate,
    erode,
    gaussian_blur,
    gaussian_kernel1d,
    invert,
    robust_augment,
)
from genlab.testing import TINY_TRAIN

QUIET = {"echo": lambda s: None}


def test_blur_of_a_delta_is_the_gaussian_kernel():
    x = torch.zeros(2, 1, 17, 17)
    x[:, :, 8, 8] = 1
    sigmas = torch.tensor([1.0, 2.0])
    blurred = gaussian_blur(x, sigmas)
    r = torch.arange(-8, 9, dtype=torch.float32)
    for image, s in zip(blurred, sigmas):
        g = torch.exp(-(r**2) / (2 * s**2))
        radius = math.ceil(3 * float(sigmas.max()))
        g = torch.where(r.abs() <= radius, g, torch.zeros(()))
        expected = torch.outer(g, g) / g.sum() ** 2
        assert torch.allclose(image[0], expected, atol=1e-6)
    assert torch.allclose(gaussian_blur(x, 0.0), x)  # sigma 0 is the identity
    assert torch.allclose(gaussian_kernel1d(torch.tensor([0.7]), 3).sum(), torch.tensor(1.0))


def test_noise_has_the_asked_std_and_stays_in_range():
    x = torch.full((2, 1, 200, 200), 0.5)
    noisy = add_noise(x, torch.tensor([0.05, 0.1]), torch.Generator().manual_seed(0))
    stds = (noisy - 0.5).flatten(1).std(1)
    assert torch.allclose(stds, torch.tensor([0.05, 0.1]), rtol=0.02)
    assert float(add_noise(x, 3.0).min()) >= 0 and float(add_noise(x, 3.0).max()) <= 1


def test_inversion_and_stroke_width():
    x = torch.rand(3, 1, 8, 8)
    assert torch.equal(invert(invert(x)), x) and torch.equal(invert(torch.zeros(1)), torch.ones(1))
    line = torch.zeros(1, 1, 9, 9)
    line[..., 4] = 1  # a one-pixel vertical stroke
    thick = dilate(line)
    assert int((thick[0, 0, 4] > 0).sum()) == 3 and torch.equal(erode(thick), line)
    assert float(erode(line).max()) == 0  # a one-pixel stroke erodes away


def test_affine_keeps_shape_and_moves_content():
    x = torch.zeros(2, 1, 12, 12)
    x[:, :, 5, 5] = 1
    same = affine(x, torch.zeros(2), torch.ones(2), torch.zeros(2, 2))
    assert same.shape == x.shape and torch.allclose(same, x, atol=1e-6)
    moved = affine(x, torch.zeros(2), torch.ones(2), torch.tensor([[2.0, 0.0], [0.0, -1.0]]))
    assert moved[0, 0, 5, 7] == pytest.approx(1) and moved[1, 0, 4, 5] == pytest.approx(1)
    turned = affine(x, torch.full((2,), 90.0), torch.ones(2), torch.zeros(2, 2))
    assert turned.sum(dim=(1, 2, 3)).allclose(torch.ones(2), atol=1e-5)


def test_robust_augment_is_seeded_and_reproducible():
    x = load_mnist("test").images[:64].float() / 255
    a = robust_augment(x, torch.Generator().manual_seed(3))
    b = robust_augment(x, torch.Generator().manual_seed(3))
    c = robust_augment(x, torch.Generator().manual_seed(4))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert float(a.min()) >= 0 and float(a.max()) <= 1


def test_robust_classifier_resumes_exactly(tmp_path):
    settings = [
        "model.widths=8,16",
        "model.convs_per_stage=1",
        "model.features=16",
        "model.augment=robust",
        "train.lr_schedule=cosine",
        *TINY_TRAIN,
        "data.limit=192",
        "train.eval_images=64",
    ]
    genlab.train("classifier", overrides=settings, out=tmp_path / "straight", **QUIET)
    genlab.train("classifier", overrides=settings + ["train.max_steps=1"], out=tmp_path / "split", **QUIET)
    genlab.train(out=tmp_path / "split", resume=True, overrides=["train.max_steps=none"], **QUIET)
    a, b = (load_file(str(tmp_path / r / "checkpoint" / "model.safetensors")) for r in ("straight", "split"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(genlab.GenlabError, match="model.augment"):
        genlab.train("classifier", overrides=settings + ["model.augment=heavy"], out=tmp_path / "bad", **QUIET)


@pytest.fixture(scope="module")
def v2():
    return DigitFeatures("digits-v2")


def test_shipped_v2_loads_checked_and_distinct_from_v1(v2):
    record = json.loads((extractors.WEIGHTS_DIR / "digits-v2.json").read_text())
    assert "digits-v2" in SHIPPED and v2.name == "digits-v2" and v2.weights_sha256 == record["sha256"]
    assert sha256_file(extractors.WEIGHTS_DIR / "digits-v2.safetensors") == record["sha256"]
    v1 = load_extractor("digits")
    assert v1.name == "digits" and v1.weights_sha256 != v2.weights_sha256
    assert extractor_identity(v1) != extractor_identity(v2)  # compare keys its columns by this identity
    assert record["degraded_test_sets"]["noise 0.2"]["accuracy"] > 0.9


def test_v2_reads_clean_and_noisy_digits(v2):
    test = load_mnist("test")
    x, y = test.images[:200].float() / 255, test.labels[:200]
    noisy = add_noise(x, 0.2, torch.Generator().manual_seed(0))
    for images in (x, noisy):
        assert (v2.logits(images).argmax(1) == y).float().mean() >= 0.97


def test_v1_and_v2_scores_never_share_a_column():
    config = RunConfig(model_name="vae", model=None)
    config.data.name = "mnist"
    assert default_extractor(config) == DEFAULT_DIGIT_EXTRACTOR
    keys = {stored_key("fid", {"provenance": {"extractor": name}}, config) for name in ("digits", "digits-v2")}
    assert len(keys) == 2 and "fid" in keys

"""Tests of genlab.nn.inception: the FID Inception-v3 architecture, preprocessing, the guarded weight loader, and
feature parity with pytorch-fid under synthetic weights (tests/fixtures/fid_parity.npz)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from genlab.errors import GenlabError
from genlab.metrics.quality import fid
from genlab.nn import FIDInceptionV3, load_inception
from genlab.nn import inception as inc
from genlab.testing.inception_weights import synthetic_inception_state

# Layer names of torchvision's Inception3 (aux_logits=False), which pytorch-fid's weights file was saved
# from and torch-fidelity's converter (utils/util_convert_inception_weights.py) writes.
BRANCHES = {
    "A": [
        "branch1x1",
        "branch5x5_1",
        "branch5x5_2",
        "branch3x3dbl_1",
        "branch3x3dbl_2",
        "branch3x3dbl_3",
        "branch_pool",
    ],
    "B": ["branch3x3", "branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"],
    "C": [
        "branch1x1",
        "branch7x7_1",
        "branch7x7_2",
        "branch7x7_3",
        "branch7x7dbl_1",
        "branch7x7dbl_2",
        "branch7x7dbl_3",
        "branch7x7dbl_4",
        "branch7x7dbl_5",
        "branch_pool",
    ],
    "D": ["branch3x3_1", "branch3x3_2", "branch7x7x3_1", "branch7x7x3_2", "branch7x7x3_3", "branch7x7x3_4"],
    "E": [
        "branch1x1",
        "branch3x3_1",
        "branch3x3_2a",
        "branch3x3_2b",
        "branch3x3dbl_1",
        "branch3x3dbl_2",
        "branch3x3dbl_3a",
        "branch3x3dbl_3b",
        "branch_pool",
    ],
}
BLOCKS = {
    "Mixed_5b": "A",
    "Mixed_5c": "A",
    "Mixed_5d": "A",
    "Mixed_6a": "B",
    "Mixed_6b": "C",
    "Mixed_6c": "C",
    "Mixed_6d": "C",
    "Mixed_6e": "C",
    "Mixed_7a": "D",
    "Mixed_7b": "E",
    "Mixed_7c": "E",
}
STEM = ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3"]
CONV_BN = ["conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
# torchvision documents 27,161,264 parameters for inception_v3 (Inception_V3_Weights.IMAGENET1K_V1, aux logits,
# 1000 classes). Its aux head has 98,560 + 2,459,136 + 769,000 = 3,326,696, leaving 23,834,568; the FID graph's
# 1008-way fc adds 8 * (2048 + 1) = 16,392.
FID_PARAMS = 27_161_264 - 3_326_696 + 16_392  # = 23,850,960
FC_PARAMS = 2048 * 1008 + 1008
# pytorch-fid's features of fixed images under genlab.testing.inception_weights (benchmarks/fid_parity_fixture.py)
PARITY = Path(__file__).parent / "fixtures" / "fid_parity.npz"
PARITY_SETS = ("rgb32", "rgb64", "gray32", "rgb320x304")  # upscaled, gray (1 channel here), downscaled non-square
FEATURE_TOL = 1e-5  # max |genlab - pytorch-fid| over the largest |feature|: float32 summation order only


def expected_keys() -> set[str]:
    layers = STEM + [f"{block}.{branch}" for block, kind in BLOCKS.items() for branch in BRANCHES[kind]]
    return {f"{layer}.{suffix}" for layer in layers for suffix in CONV_BN} | {"fc.weight", "fc.bias"}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return FIDInceptionV3().eval()


@pytest.fixture(scope="module")
def weights(model, tmp_path_factory):
    """The random model's state dict saved under pytorch-fid's file name (its sha256 cannot match)."""
    path = tmp_path_factory.mktemp("inception") / inc.WEIGHTS_FILES[0]
    torch.save(model.state_dict(), path)
    return path


def test_architecture_matches_pytorch_fid(model):
    state = model.state_dict()
    assert set(state) == expected_keys()
    assert sum(p.numel() for p in model.parameters()) == FID_PARAMS
    assert sum(p.numel() for p in FIDInceptionV3(with_logits=False).parameters()) == FID_PARAMS - FC_PARAMS
    assert state["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
    assert state["Mixed_6b.branch7x7_2.conv.weight"].shape == (128, 128, 1, 7)
    assert state["Mixed_7c.branch3x3dbl_3b.conv.weight"].shape == (384, 384, 3, 1)
    assert state["fc.weight"].shape == (1008, 2048)
    assert model.Conv2d_1a_3x3.bn.eps == 1e-3
    assert (model.Mixed_7b.pool, model.Mixed_7c.pool) == ("avg", "max")
    assert model.num_features == 2048 and model.name == "inception-v3-fid"


def test_features_for_rgb_and_gray_inputs(model):
    with torch.inference_mode():
        rgb = model(torch.rand(2, 3, 299, 299))
        gray = model(torch.rand(2, 1, 28, 28))
    for features in (rgb, gray):
        assert features.shape == (2, 2048) and torch.isfinite(features).all()


def test_preprocess_resizes_repeats_gray_and_scales():
    x = inc.preprocess(torch.full((1, 1, 28, 28), 0.5))
    assert x.shape == (1, 3, 299, 299) and torch.allclose(x, torch.zeros_like(x))
    ends = inc.preprocess(torch.stack([torch.zeros(3, 299, 299), torch.ones(3, 299, 299)]))
    assert ends[0].eq(-1).all() and ends[1].eq(1).all()
    with pytest.raises(GenlabError, match="float images"):
        inc.preprocess(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(GenlabError, match="1 or 3"):
        inc.preprocess(torch.zeros(1, 2, 8, 8))


def test_average_pool_ignores_padding():
    pooled = inc._pool_3x3(torch.ones(1, 1, 4, 4), "avg")
    assert torch.equal(pooled, torch.ones_like(pooled))  # counting the zero padding would give 4/9 at corners


def test_logits_with_and_without_bias(model):
    features = torch.rand(2, 2048)
    assert model.classify(features).shape == (2, 1008)
    difference = model.classify(features) - model.classify(features, bias=False)
    assert torch.allclose(difference, model.fc.bias.expand(2, -1), atol=1e-5)
    with pytest.raises(GenlabError, match="no fc layer"):
        FIDInceptionV3(with_logits=False).classify(features)


def test_missing_file_names_both_weights_files(tmp_path):
    with pytest.raises(GenlabError) as err:
        load_inception(tmp_path / "nope.pth")
    message = str(err.value)
    assert "\n" not in message and "6726825d" in message
    assert all(name in message for name in inc.WEIGHTS_FILES)


def test_wrong_hash_is_refused(weights):
    with pytest.raises(GenlabError, match="not the expected Inception weights") as err:
        load_inception(weights)
    assert "\n" not in str(err.value)


def test_strict_round_trip(model, weights, monkeypatch):
    digest = inc.sha256_file(weights)
    monkeypatch.setattr(inc, "EXPECTED_SHA256", digest)  # pretend the random weights are the real ones
    loaded = load_inception(weights.parent)  # a directory holding a standard file name
    assert not loaded.training and loaded.weights_sha256 == digest and loaded.name == "inception-v3-fid"
    assert not any(p.requires_grad for p in loaded.parameters())
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())


def test_key_mismatch_is_one_line(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(1008, 2048), "classifier.bias": torch.zeros(3)}, path)
    with pytest.raises(GenlabError, match="does not fit") as err:
        load_inception(path, check_hash=False)
    assert "\n" not in str(err.value) and "unexpected 1" in str(err.value)


def test_legacy_files_read_and_garbage_is_refused(tmp_path):
    legacy = tmp_path / "legacy.pth"  # the pre-1.6 (non-zip) format older weights files use
    torch.save({"fc.bias": torch.arange(3.0)}, legacy, _use_new_zipfile_serialization=False)
    assert torch.equal(inc._read_state(legacy)["fc.bias"], torch.arange(3.0))
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(GenlabError, match="cannot read") as err:
        load_inception(garbage, check_hash=False)
    assert "\n" not in str(err.value)


@pytest.fixture(scope="module")
def parity():
    """The fixture's arrays: uint8 images, pytorch-fid's features and FID, its state-dict shapes, provenance."""
    with np.load(PARITY) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def parity_features(parity, tmp_path_factory):
    """genlab's features of the fixture's images, the same synthetic weights read by load_inception."""
    shapes = {k: v for k, v in json.loads(str(parity["state_shapes"])).items() if not k.startswith("fc.")}
    path = tmp_path_factory.mktemp("parity") / "synthetic.pth"
    torch.save({k: torch.from_numpy(v) for k, v in synthetic_inception_state(shapes).items()}, path)
    network = load_inception(path, check_hash=False)
    with torch.inference_mode():
        return {name: network(torch.from_numpy(parity[f"images_{name}"]).float() / 255) for name in PARITY_SETS}


def test_state_dict_matches_pytorch_fid(model, parity):
    assert "pytorch-fid" in str(parity["provenance"])
    assert json.loads(str(parity["state_shapes"])) == {k: list(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", PARITY_SETS)
def test_features_match_pytorch_fid(parity, parity_features, name):
    ours, theirs = parity_features[name], torch.from_numpy(parity[f"features_{name}"])
    assert ours.shape == theirs.shape == (len(parity[f"images_{name}"]), 2048)
    tolerance = FEATURE_TOL * theirs.abs().max()
    assert (ours - theirs).abs().max() <= tolerance
    assert theirs.std(0).mean() > 100 * tolerance  # the images differ enough for the check to mean something


@pytest.mark.slow  # eigendecompositions of 2048 x 2048 covariances
def test_fid_matches_pytorch_fid(parity, parity_features):
    # genlab's FID of genlab's features against pytorch-fid's calculate_frechet_distance of its own features
    # (scipy's sqrtm of a singular product at 6 samples: it warns, hence 1e-3; observed 4e-6). One FID only: the
    # eigendecompositions of 2048 x 2048 matrices take seconds on one thread.
    ours = fid(parity_features["rgb32"], parity_features["rgb64"])["fid"]
    assert ours == pytest.approx(float(parity["fid_rgb32_rgb64"]), rel=1e-3)

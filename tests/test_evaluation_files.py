"""genlab eval SAMPLES --reference REF: image files (folders, .npz, dataset names) scored against each other."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from genlab.apps.cli import main
from genlab.data import ImageData, load_dataset
from genlab.data.arrays import save_arrays
from genlab.errors import GenlabError
from genlab.evaluation.files import evaluate_files
from genlab.testing import PixelStats, synthetic_images
from genlab.viz import save_image


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))


def blobs(n: int, channels: int = 1, size: int = 16, seed: int = 0, width: float = 2.0) -> ImageData:
    """Bright Gaussian blobs at random places on black: images with structure at several scales."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.rand(n, 2, 1, 1, generator=gen) * size
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    blob = torch.exp(-((ys - centres[:, 0]) ** 2 + (xs - centres[:, 1]) ** 2) / (2 * width**2))
    images = (255 * blob[:, None].expand(n, channels, size, size)).round().to(torch.uint8)
    return ImageData(images, torch.zeros(n, dtype=torch.long), ["0"], "blobs")


def write_folder(folder, data: ImageData):
    for i, image in enumerate(data.images):
        save_image(image.float() / 255, folder / f"{i:03d}.png")
    return folder


def test_a_folder_is_scored_against_an_npz_with_swd_and_a_named_network(tmp_path, cache):
    samples = write_folder(tmp_path / "samples", blobs(24, seed=1))
    reference = save_arrays(tmp_path / "real.npz", {"train": blobs(30, seed=2)}, ["0"])
    results = evaluate_files(str(samples), reference=str(reference), extractor=PixelStats())
    assert list(results) == ["fid", "kid", "pr", "dc", "swd"]  # no feature network of its own: the named one
    prov = results["swd"]["provenance"]
    assert prov["generated_images"] == 24 and prov["real_images"] == 30 and prov["samples_source"].endswith("samples")
    assert prov["reference"] == f"npz:{reference}" and results["fid"]["provenance"]["extractor"] == "pixel-stats"
    assert list(evaluate_files(str(samples), reference=str(reference))) == ["swd"]  # offline, no network: SWD only
    wider = write_folder(tmp_path / "wider", blobs(24, seed=1, width=4.0))
    blurred = evaluate_files(str(wider), ["swd"], reference=str(reference))["swd"]["swd"]
    assert blurred > 2 * results["swd"]["swd"]


def test_color_folders_compare_and_unlike_sets_are_one_line(tmp_path, cache, capsys):
    rgb = write_folder(tmp_path / "rgb", blobs(12, channels=3, seed=3))
    photos = synthetic_images(12, channels=3, size=16, seed=4)
    photos.images[:, 1] = 0  # colour: not every channel alike
    other = write_folder(tmp_path / "other", photos)
    result = evaluate_files(str(rgb), ["swd"], reference=str(other))["swd"]
    assert result["provenance"]["levels"] == [16] and result["swd"] > 0
    gray = write_folder(tmp_path / "gray", blobs(12, seed=5))
    big = write_folder(tmp_path / "big", blobs(12, size=20, seed=5))
    (tmp_path / "empty").mkdir()
    broken = write_folder(tmp_path / "broken", blobs(3, seed=6))
    (broken / "zz.png").write_bytes(b"not a png")
    cases = {
        str(gray): "16x16 RGB",  # gray samples against colour images
        str(big): "20x20 gray",
        str(tmp_path / "empty"): "holds no image files",
        str(broken): "cannot read 1 image file(s)",
        str(tmp_path / "missing"): "does not exist",
    }
    for samples, message in cases.items():
        reference = str(gray) if samples == str(big) else str(rgb)
        assert main(["eval", samples, "--reference", reference, "--metrics", "swd"]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err


def test_samples_scores_the_first_images_of_the_files(tmp_path, cache, capsys):
    samples = save_arrays(tmp_path / "fake.npz", {"train": blobs(12, seed=2)}, ["0"])
    reference = save_arrays(tmp_path / "real.npz", {"train": blobs(12, seed=3)}, ["0"])
    argv = ["eval", str(samples), "--reference", str(reference), "--metrics", "swd", "--json"]
    assert main([*argv, "--samples", "6"]) == 0
    assert json.loads(capsys.readouterr().out)["swd"]["provenance"]["generated_images"] == 6
    digits = load_dataset("stackedmnist", "test").head(40)
    stacked = save_arrays(tmp_path / "stacked.npz", {"train": digits}, digits.classes)
    assert evaluate_files(str(stacked), ["modes"], reference="stackedmnist", samples=30)["modes"]["samples"] == 30
    assert main([*argv, "--samples", "20"]) == 2
    err = capsys.readouterr().err
    assert "--samples 20" in err and "holds 12 images" in err and len(err.strip().splitlines()) == 1


def test_a_run_or_a_likelihood_metric_is_refused_for_files(tmp_path, cache, tiny_run):
    reference = save_arrays(tmp_path / "real.npz", {"train": blobs(8)}, ["0"])
    with pytest.raises(GenlabError, match="is a run folder"):
        evaluate_files(str(tiny_run), reference=str(reference))
    with pytest.raises(GenlabError, match="nll cannot score image files"):
        evaluate_files(str(reference), ["nll"], reference=str(reference))
    one = save_arrays(tmp_path / "one.npz", {"train": blobs(1)}, ["0"])
    with pytest.raises(GenlabError, match="at least 2"):
        evaluate_files(str(one), reference=str(reference))
    assert np.load(reference)["train_images"].shape == (8, 1, 16, 16)  # nothing was written beside it
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".json") == []

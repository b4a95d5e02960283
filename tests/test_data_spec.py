"""Dataset specs (genlab.data.spec): every registered dataset says all that genlab asks of it and loads by its
name; a new dataset is one module with one registration line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.data import (
    DATASETS,
    DatasetSpec,
    ImageData,
    LoadOptions,
    canonical_name,
    dataset_spec,
    default_extractor,
    domain_names,
    has_domains,
    load_dataset,
    point_centers,
    register_dataset,
    short_names,
)
from genlab.data.spec import KINDS
from genlab.errors import GenlabError
from genlab.evaluation import family
from genlab.runs import SHIPPED


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Offline examples of the datasets that read files: a folder of two classes and an .npz of one split."""
    root = tmp_path_factory.mktemp("data")
    for label, value in (("dark", 30), ("light", 220)):
        (root / "photos" / label).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((12, 12, 3), value + i, np.uint8)).save(root / "photos" / label / f"{i}.png")
    np.savez(root / "set.npz", train_images=np.zeros((10, 1, 8, 8), np.uint8), train_labels=np.arange(10) % 2)
    return root


def example_names(root) -> dict[str, str]:
    """One name per registered dataset (a new dataset adds its example here)."""
    return {
        "mnist": "mnist",
        "mnistm": "mnistm",
        "synthdigits": "synthdigits",
        "stackedmnist": "stackedmnist",
        "toy2d": "toy2d:ring8",
        "folder": f"folder:{root / 'photos'}",
        "npz": f"npz:{root / 'set.npz'}",
        "unpaired": f"unpaired:{root / 'photos'},mnist",
    }


def test_every_registered_dataset_is_complete_and_loads_its_splits(files):
    examples = example_names(files)
    assert set(DATASETS) == set(examples), "a dataset without an example name here (or an example without one)"
    for name, spec in DATASETS.items():
        assert spec.name == name and spec.kind in KINDS and callable(spec.loader)
        assert spec.splits and all(isinstance(s, str) for s in spec.splits) and "train" in spec.splits
        assert spec.default_extractor in ("", *SHIPPED), f"{name}: no such feature network"
        assert all(family(f) for f in spec.metric_families), f"{name}: a metric family without metrics"
        assert (spec.kind == "points") == (spec.point_modes is not None)
        assert spec.usage in DATASETS.choices() and bool(spec.argument) == (":" in examples[name])
        assert dataset_spec(examples[name]) is spec
        for split, size in (("train", 0), ("test", 16)):  # the test split resized (train's 60,000 would take s)
            assert split in spec.splits
            size = size if spec.kind != "points" else 0
            data = load_dataset(examples[name], split, image_size=size, test_fraction=0.5)
            assert isinstance(data, ImageData) and len(data) > 0
            assert data.is_points == (spec.kind == "points")
            assert data.is_points or data.image_size == (size or data.images.shape[-1])  # asked for, else its own


def test_each_kind_brings_its_defaults_and_a_spec_can_say_otherwise():
    mnist, toy, folder, stacked = (dataset_spec(n) for n in ("mnist", "toy2d:grid25", "folder:x", "stackedmnist"))
    assert (mnist.default_extractor, mnist.metric_families, mnist.binary) == ("digits-v2", ("quality", "swd"), True)
    assert (toy.default_extractor, toy.metric_families, toy.binary) == ("", ("modes",), False)
    assert (folder.default_extractor, folder.metric_families) == ("", ("swd",))  # no network needed for the SWD
    assert (stacked.kind, stacked.default_extractor) == ("digits", "digits-v2")
    assert stacked.metric_families == ("modes", "swd")
    assert "valid" in mnist.splits and "valid" not in folder.splits
    with pytest.raises(GenlabError, match="kind must be one of digits, points, images"):
        DatasetSpec("odd", lambda split, options: None, ("train",), "sounds")


def test_names_are_parsed_by_their_spec_in_one_line_when_wrong():
    choices = "choose one of: folder:PATH, mnist, mnistm, npz:PATH, stackedmnist, synthdigits, toy2d:ring8|grid25"
    for name in ("imagenet", "mnist:extra", "folder", "", ":mnist"):
        with pytest.raises(GenlabError) as caught:
            dataset_spec(name)
        assert str(caught.value).startswith(f"unknown dataset {name!r}; {choices}")
        assert "\n" not in str(caught.value)
    with pytest.raises(GenlabError, match="^folder: needs a path, e.g. --data folder:PATH$"):
        load_dataset("folder: ")
    with pytest.raises(GenlabError, match="^toy2d: needs an argument"):
        load_dataset("toy2d:")


def test_questions_about_data_are_answered_by_the_specs(files):
    photos = files / "photos"
    assert domain_names(f"unpaired:mnist,{photos}") == ("mnist", f"folder:{photos}")
    assert domain_names("mnistm") == ("mnistm",) and has_domains("unpaired:a,b") and not has_domains("mnist")
    assert not has_domains("nonsense:x")
    assert default_extractor("unpaired:mnist,mnistm") == "digits-v2"
    assert default_extractor(f"unpaired:mnist,{photos}") == ""  # the domains do not share one
    assert short_names(f"unpaired:toy2d:ring8,npz:{files / 'set.npz'}") == ["toy2d-ring8", "set"]
    assert short_names(f"folder:{photos}/") == ["photos"]
    assert short_names(f"unpaired:{files}/gone/A,{files}/gone/B") == ["A", "B"]  # folders deleted since training
    assert point_centers("toy2d:ring8").shape == (8, 2)
    assert point_centers("mnist") is None and point_centers("not-a-dataset") is None
    assert canonical_name(f"folder:{files}/photos/../photos") == f"folder:{photos.resolve()}"
    assert canonical_name("mnist") == "mnist"


def test_a_new_dataset_is_one_registration(tmp_path):
    """A spec registered from outside genlab loads by name, with its argument, and is refused twice."""

    def load_ramp(split: str, options: LoadOptions) -> ImageData:
        n = int(options.argument)
        images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 4, 4).contiguous()
        return ImageData(images, torch.zeros(n, dtype=torch.long), ["ramp"], f"ramp:{n}")

    spec = register_dataset(DatasetSpec("ramp", load_ramp, ("train", "test"), "images", argument="N"))
    try:
        assert load_dataset("ramp:5", "test").images[:, 0, 0, 0].tolist() == [0, 1, 2, 3, 4]
        assert "ramp:N" in DATASETS.choices() and dataset_spec("ramp:3") is spec
        with pytest.raises(GenlabError, match="dataset 'ramp' is already registered"):
            register_dataset(spec)
    finally:
        DATASETS.unregister("ramp")
    with pytest.raises(GenlabError, match="unknown dataset 'ramp:5'"):
        load_dataset("ramp:5")

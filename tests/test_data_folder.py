"""Folders train at their images' own size when model.image_size is auto (rounded to a size every network
takes), with one line saying so; mixed sizes keep the 64 px default."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import genlab
from genlab.data import DEFAULT_FOLDER_SIZE, load_dataset
from genlab.data.folder import AUTO_SIZES, network_size
from genlab.errors import GenlabError
from genlab.nn.dcgan import upsampling_plan
from genlab.nn.resnet import ResnetGenerator

QUIET = {"echo": lambda s: None}
TRAIN = [
    "train.batch_size=8",
    "train.max_steps=2",
    "train.eval_images=8",
    "train.grid_size=4",
    "data.test_fraction=0.2",
]


def folder(root, sizes, mode="L"):
    """Images of the given (width, height) sizes, random pixels, in ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i, (w, h) in enumerate(sizes):
        shape = (h, w) if mode == "L" else (h, w, 3)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(root / f"{i}.png")
    return root


def size_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "(set model.image_size to change it)" in line]


@pytest.mark.parametrize(
    "model, settings", [("gan", []), ("vae", ["model.widths=8,16", "model.hidden=32", "model.latent_dim=4"])]
)
def test_a_folder_of_28px_images_trains_at_28px_with_one_line(model, settings, tmp_path, capsys):
    data = folder(tmp_path / f"digits-{model}", [(28, 28)] * 40)
    trained = genlab.train(
        model,
        data=f"folder:{data}",
        preset="tiny" if model == "gan" else None,
        overrides=settings + TRAIN,
        out=tmp_path / "run",
        **QUIET,
    )
    assert trained.run_config.model.image_size == 28
    assert genlab.load(tmp_path / "run").sample(2).shape == (2, 1, 28, 28)
    assert size_lines(capsys.readouterr().err) == [
        f"genlab: folder:{data}: images are 28x28; training at 28 px (set model.image_size to change it)"
    ]


def test_an_explicit_image_size_wins_and_says_nothing(tmp_path, capsys):
    data = folder(tmp_path / "digits", [(28, 28)] * 8)
    assert load_dataset(f"folder:{data}", image_size=16, test_fraction=0).image_size == 16
    assert size_lines(capsys.readouterr().err) == []


@pytest.mark.parametrize(
    "sizes, expected, why",
    [
        ([(30, 30)] * 3, 32, "images are 30x30; training at 32 px, the nearest size every network takes"),
        ([(48, 40)] * 3, 40, "images are 48x40; training at 40 px ("),  # the shorter side: the square center crop
        ([(200, 200)] * 2, 64, "images are 200x200; training at 64 px, the largest automatic size"),
        (
            [(28, 28), (28, 28), (64, 48), (20, 20)],
            DEFAULT_FOLDER_SIZE,
            "images have 3 different sizes (20x20 to 64x48); training at 64 px, the default for mixed sizes",
        ),
    ],
)
def test_sizes_round_to_what_the_networks_take_or_fall_back_to_the_default(sizes, expected, why, tmp_path, capsys):
    data = folder(tmp_path / "images", sizes, mode="RGB")
    for split in ("train", "test"):  # both splits read the folder; the line is said once
        assert load_dataset(f"folder:{data}", split, test_fraction=0.3).image_size == expected
    lines = size_lines(capsys.readouterr().err)
    assert len(lines) == 1 and f"folder:{data}: {why}" in lines[0]


def test_every_automatic_size_builds_every_image_network_and_rounding_picks_the_nearest():
    for size in AUTO_SIZES:
        upsampling_plan(size)  # DCGAN generator and discriminator
        ResnetGenerator(1, size, 4, 1)  # CycleGAN: multiples of 4, at least 8
    assert [network_size(s) for s in (1, 8, 26, 28, 30, 36, 37, 60, 65, 1000)] == [
        8,
        8,
        28,
        28,
        32,
        40,
        40,
        64,
        64,
        64,
    ]  # a tie goes to the larger size
    with pytest.raises(GenlabError):
        upsampling_plan(30)  # why 30x30 images cannot train at 30 px


def test_unreadable_files_do_not_count_as_a_size(tmp_path, capsys):
    data = folder(tmp_path / "images", [(12, 12)] * 4)
    (data / "broken.png").write_bytes(b"not an image")
    assert load_dataset(f"folder:{data}", test_fraction=0).image_size == 12
    assert "images are 12x12" in capsys.readouterr().err

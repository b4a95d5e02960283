"""Sampling at scale: `genlab sample --format npz|png-dir` streamed in batches, the streamed .npz writer, and
FID/KID features extracted batch by batch (bit-identical to sampling everything first)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.apps.testing import run_cli
from genlab.data import load_dataset, to_uint8
from genlab.data.arrays import read_arrays, split_of
from genlab.evaluation import EvalContext, EvalOptions
from genlab.evaluation.samples import quality_features
from genlab.export import export_samples
from genlab.files import write_npz_streamed
from genlab.metrics.features import extract
from genlab.models import default_config, get_model_class
from genlab.runs import load_run, resolve_model_config, save_checkpoint
from genlab.samplers import sample_batches, sample_images
from genlab.testing import PixelStats, synthetic_images, tiny_model

pytestmark = pytest.mark.usefixtures("one_thread")


def conditional_gan():
    """A tiny class-conditional GAN over 10 classes."""
    config = default_config("gan", "tiny")
    config.model.conditional = True
    resolve_model_config(config, synthetic_images(2))
    torch.manual_seed(0)
    return get_model_class("gan")(config.model), config


def point_gan():
    """A tiny GAN of 2-D points (toy2d:ring8)."""
    config = default_config("gan", "toy")
    resolve_model_config(config, load_dataset("toy2d:ring8", "test"))
    torch.manual_seed(0)
    return get_model_class("gan")(config.model), config


def run_folder(tmp_path, model_and_config):
    """A run folder holding the model's checkpoint, for the CLI."""
    model, config = model_and_config
    save_checkpoint(tmp_path / "run", model, config)
    return tmp_path / "run"


def test_sample_batches_define_the_samples_by_seed_and_batch_size():
    """Batches of B from one generator seeded once: a batch size of n or more is sample_images; batches of B
    are the same whenever drawn again, and the first batches do not depend on n."""
    model, _ = tiny_model("gan")
    whole = sample_images(model, 10, seed=3)
    assert torch.equal(torch.cat(list(sample_batches(model, 10, 3, batch_size=10))), whole)
    assert torch.equal(torch.cat(list(sample_batches(model, 10, 3, batch_size=64))), whole)
    fours = torch.cat(list(sample_batches(model, 10, 3, batch_size=4)))
    assert [len(b) for b in sample_batches(model, 10, 3, batch_size=4)] == [4, 4, 2]
    assert torch.equal(fours, torch.cat(list(sample_batches(model, 10, 3, batch_size=4))))
    assert torch.equal(fours[:8], torch.cat(list(sample_batches(model, 8, 3, batch_size=4))))


def test_npz_round_trip_through_load_dataset(tmp_path):
    model, _ = tiny_model("vae")
    path = export_samples(model, tmp_path / "s.npz", 10, "npz", seed=1, batch_size=16)
    stored = split_of(read_arrays(path), "train", path)
    assert stored.images.dtype == torch.uint8 and stored.images.shape == (10, 1, 28, 28)
    assert torch.equal(stored.images, to_uint8(sample_images(model, 10, seed=1)))
    assert stored.labels.tolist() == [0] * 10 and stored.classes == ["0"]
    train, test = load_dataset(f"npz:{path}", "train"), load_dataset(f"npz:{path}", "test")
    assert len(train) + len(test) == 10 and set(train.labels.tolist()) == {0}
    batched = export_samples(model, tmp_path / "b.npz", 10, "npz", seed=1, batch_size=3)
    expected = to_uint8(torch.cat(list(sample_batches(model, 10, 1, batch_size=3))))
    assert torch.equal(split_of(read_arrays(batched), "train", batched).images, expected)


def test_png_dir_through_the_cli(tmp_path, capsys):
    run = run_folder(tmp_path, tiny_model("gan"))
    out = tmp_path / "pngs"
    code, stdout, _ = run_cli(
        capsys, "sample", run, "-n", 7, "--format", "png-dir", "--batch-size", 3, "-o", out, "--seed", 2
    )
    assert code == 0 and "7 samples" in stdout
    assert sorted(p.name for p in out.iterdir()) == [f"{i:06d}.png" for i in range(7)]
    model, _ = load_run(run)
    expected = to_uint8(torch.cat(list(sample_batches(model, 7, 2, batch_size=3))))
    assert np.array_equal(np.asarray(Image.open(out / "000005.png")), expected[5, 0].numpy())


def test_streamed_writer_reads_back_and_never_leaves_a_partial_file(tmp_path):
    """Thousands of tiny images in small chunks, written as they are made; a failure keeps the old file."""
    images = torch.randint(0, 256, (3000, 1, 4, 4), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    path = tmp_path / "many.npz"

    def chunks(fail_at=None):
        for start in range(0, 3000, 7):
            if start == fail_at:
                raise RuntimeError("sampling failed")
            yield images[start : start + 7].numpy()

    write_npz_streamed(path, {"train_images": (3000, chunks()), "train_labels": (3000, [np.arange(3000)])})
    with np.load(path, allow_pickle=False) as f:
        assert np.array_equal(f["train_images"], images.numpy()) and f["train_labels"][-1] == 2999
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        write_npz_streamed(path, {"train_images": (3000, chunks(fail_at=700))})
    with pytest.raises(ValueError, match="2996 rows came for the 3000"):
        write_npz_streamed(path, {"train_images": (3000, (c for c in chunks() if len(c) == 7))})
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["many.npz"]


def test_many_samples_in_small_batches(tmp_path):
    model, _ = tiny_model("gan")
    path = export_samples(model, tmp_path / "s.npz", 2000, "npz", seed=0, batch_size=64)
    stored = split_of(read_arrays(path), "train", path)
    assert stored.images.shape == (2000, 1, 28, 28)
    assert torch.equal(stored.images[-16:], to_uint8(torch.cat(list(sample_batches(model, 2000, 0, 64)))[-16:]))


def test_conditional_labels(tmp_path):
    model, _ = conditional_gan()
    path = export_samples(model, tmp_path / "c.npz", 25, "npz", seed=0, batch_size=4)
    stored = split_of(read_arrays(path), "train", path)
    assert stored.labels.tolist() == [i % 10 for i in range(25)]  # cycling over the whole set, not per batch
    assert stored.classes == [str(c) for c in range(10)]
    three = export_samples(model, tmp_path / "3.npz", 6, "npz", seed=0, batch_size=4, label=3)
    stored = split_of(read_arrays(three), "train", three)
    assert stored.labels.tolist() == [3] * 6
    assert torch.equal(torch.cat(list(sample_batches(model, 6, 0, 6, label=3))), sample_images(model, 6, 0, 3))
    assert torch.equal(stored.images, to_uint8(torch.cat(list(sample_batches(model, 6, 0, 4, label=3)))))
    assert not torch.equal(stored.images, to_uint8(sample_images(model, 6, 0, label=7)))


def test_point_models_write_points(tmp_path, capsys):
    run = run_folder(tmp_path, point_gan())
    code, _, _ = run_cli(capsys, "sample", run, "-n", 9, "--format", "npz", "--batch-size", 4, "-o", tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz", allow_pickle=False) as f:
        points = f["points"]
    assert code == 0 and points.dtype == np.float32 and points.shape == (9, 2)
    model, _ = load_run(run)
    assert np.array_equal(points, torch.cat(list(sample_batches(model, 9, 0, 4))).numpy())


@pytest.mark.parametrize(
    "argv, message",
    [
        (["-n", 0, "--format", "npz"], "-n"),
        (["--format", "npz", "--batch-size", 0], "--batch-size must be at least 1"),
        (["--format", "npz", "-o", "{tmp}/s.png"], "must end in .npz"),
        (["--format", "npz", "-o", "{tmp}/exists.npz"], "pass --force"),
        (["--format", "png-dir", "-o", "{tmp}/full"], "not empty; pass --force"),
        (["--format", "png-dir", "-o", "{tmp}/exists.npz"], "is a file"),
        (["--format", "npz", "--label", 3], "class-conditional"),
        (["--format", "npz", "--by-class"], "lay out a grid"),
        (["--batch-size", 10], "--batch-size is for --format npz"),
        (["--format", "tar"], "invalid choice"),
    ],
)
def test_errors_are_one_line_with_status_2(tmp_path, capsys, argv, message):
    run = run_folder(tmp_path, tiny_model("vae"))
    (tmp_path / "exists.npz").write_bytes(b"old")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.png").write_bytes(b"x")
    code, _, err = run_cli(capsys, "sample", run, *[str(a).format(tmp=tmp_path) for a in argv])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert (tmp_path / "exists.npz").read_bytes() == b"old" and not (tmp_path / "s.png").exists()


def test_png_dir_refuses_point_models(tmp_path, capsys):
    run = run_folder(tmp_path, point_gan())
    code, _, err = run_cli(capsys, "sample", run, "--format", "png-dir", "-o", tmp_path / "pts")
    assert code == 2 and "2-D points" in err and not (tmp_path / "pts").exists()


class PixelStatsWithHead(PixelStats):
    """PixelStats with a class head, so the IS analogue's logits are extracted too."""

    def classify(self, features):
        return features[:, :3] * 4


def old_two_step_features(model, n, seed, extractor):
    """What quality_features computed before streaming: all n samples (batches of 500), then extract."""
    gen = torch.Generator().manual_seed(seed)
    samples = torch.cat([model.sample(min(500, n - i), generator=gen).float().cpu() for i in range(0, n, 500)])
    return extract(extractor, samples, logits=True)


@pytest.mark.parametrize("make", [lambda: tiny_model("gan"), conditional_gan], ids=["gan", "conditional-gan"])
def test_streamed_quality_features_equal_the_two_step_path(make, tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path))
    model, config = make()
    model.eval()
    extractor = PixelStatsWithHead()
    options = EvalOptions(samples=1100, seed=4, reference_images=20, extractor=extractor)
    streamed = quality_features(EvalContext(model, config, options, ["fid", "is"]))
    old = old_two_step_features(model, 1100, 4, extractor)
    assert torch.equal(streamed.fake, old["features"]) and torch.equal(streamed.logits, old["logits"])
    assert streamed.provenance["generated_images"] == 1100


def test_a_stacked_mnist_npz_records_the_modes_its_samples_are_read_as(tmp_path):
    from genlab.evaluation.samples import stacked_mode_reader
    from genlab.export import READ_BY
    from genlab.metrics.extractors import load_extractor
    from genlab.metrics.features import read_channels

    assert stacked_mode_reader("mnist") is None  # one digit per image: nothing to read
    model, _ = tiny_model("gan", channels=3)
    reader = stacked_mode_reader("stackedmnist")
    path = export_samples(model, tmp_path / "s.npz", 12, "npz", seed=2, batch_size=5, reader=reader)
    stored = split_of(read_arrays(path), "train", path)
    assert len(stored.classes) == 1000 and stored.classes[:2] == ["000", "001"]
    samples = torch.cat(list(sample_batches(model, 12, 2, batch_size=5)))
    digits = read_channels(load_extractor("digits-v2"), samples).argmax(-1)
    assert stored.labels.tolist() == (digits @ torch.tensor([100, 10, 1])).tolist()
    assert str(read_arrays(path)[READ_BY][0]).startswith("digits-v2 ")

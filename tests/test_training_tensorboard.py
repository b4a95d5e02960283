"""train.tensorboard=true: scalars of every step and epoch record at their steps and the epoch's pictures in
RUN/tensorboard/, appended to (never doubled) on resume; without the tensorboard package, one line before
anything is written."""

from __future__ import annotations

import shutil
import sys

import pytest
from PIL import Image

import genlab
from genlab.apps.testing import run_cli
from genlab.errors import GenlabError
from genlab.testing import TINY
from genlab.training import prepare_config
from genlab.training.callbacks import default_callbacks
from genlab.training.loggers import TENSORBOARD_MISSING, TensorBoard
from genlab.viz import read_metrics

pytestmark = pytest.mark.usefixtures("one_thread")
QUIET = {"echo": lambda s: None}
LOGGED = TINY + ["train.tensorboard=true"]  # 4 steps per epoch


def events(run):
    """The run's TensorBoard logs, read back as TensorBoard reads them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def scalars(accumulator, tag):
    return [(e.step, e.value) for e in accumulator.Scalars(tag)]


def test_scalars_at_their_steps_and_pictures_per_epoch(tmp_path):
    """Every step record's numbers at its step, every epoch record's at the epoch's last step, and each picture
    folder's epoch picture as an image at that step."""
    run = tmp_path / "vae"
    genlab.train("vae", overrides=LOGGED + ["train.epochs=2"], out=run, **QUIET)
    logged, records = events(run), read_metrics(run / "metrics.jsonl")
    steps = [r for r in records if r["kind"] == "step"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    for field in ("loss", "kl"):
        assert scalars(logged, f"step/{field}") == [(r["step"], pytest.approx(r[field])) for r in steps]
    for field in ("train/loss", "test/loss", "seconds"):
        assert scalars(logged, f"epoch/{field}") == [(r["step"], pytest.approx(r[field])) for r in epochs]
    assert [r["step"] for r in epochs] == [4, 8]
    for folder in ("samples", "reconstructions"):
        pictures = logged.Images(folder)
        assert [p.step for p in pictures] == [4, 8]
        width, height = Image.open(run / folder / "epoch_0002.png").size
        assert (pictures[-1].width, pictures[-1].height) == (width, height)


def test_a_resume_appends_to_the_same_logs_without_doubling_steps(tmp_path):
    """A resume appends; one from an earlier checkpoint than the logs reach hides what came after it
    (purge_step), so every step is logged once, with the resumed run's numbers."""
    run = tmp_path / "vae"
    genlab.train("vae", overrides=LOGGED + ["train.epochs=1"], out=run, **QUIET)
    shutil.copytree(run / "checkpoint", tmp_path / "epoch1")
    genlab.train(out=run, resume=True, overrides=["train.epochs=2"], **QUIET)
    shutil.rmtree(run / "checkpoint")
    shutil.copytree(tmp_path / "epoch1", run / "checkpoint")  # back to epoch 1: epoch 2 is trained again
    genlab.train(out=run, resume=True, overrides=["train.epochs=2"], **QUIET)
    logged = events(run)
    assert [step for step, _ in scalars(logged, "step/loss")] == list(range(1, 9))
    assert [step for step, _ in scalars(logged, "epoch/test/loss")] == [4, 8]
    assert [p.step for p in logged.Images("samples")] == [4, 8]
    assert len(list((run / "tensorboard").iterdir())) == 3  # one event file per session, in one folder


def test_the_callback_comes_only_when_asked_for():
    """TensorBoard is among the default callbacks (which train() builds on replica 0 only) with
    train.tensorboard=true only."""
    config = prepare_config("vae", overrides=TINY)
    assert not any(isinstance(c, TensorBoard) for c in default_callbacks(config))
    config.train.tensorboard = True
    assert isinstance(default_callbacks(config)[-1], TensorBoard)


def test_without_the_tensorboard_package_one_line_before_anything_is_written(tmp_path, monkeypatch, capsys):
    """The import fails: genlab.train raises the one line, the CLI exits 2 with it, and no run folder appears."""
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    run = tmp_path / "vae"
    with pytest.raises(GenlabError) as caught:
        genlab.train("vae", overrides=LOGGED, out=run, **QUIET)
    assert str(caught.value) == TENSORBOARD_MISSING
    code, out, err = run_cli(capsys, "train", "vae", *[a for s in LOGGED for a in ("--set", s)], "--out", run)
    assert (code, err) == (2, f"genlab: error: {TENSORBOARD_MISSING}\n")
    assert not run.exists()

"""The generic loop: artifacts, exact resume, divergence handling, run-folder safety."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import genlab
from genlab import training
from genlab.errors import GenlabError
from genlab.models.vae import VAE
from genlab.testing import TINY
from genlab.training import Callback
from genlab.training.loop import lr_factor

QUIET = {"echo": lambda s: None}


def weights(run):
    return load_file(str(run / "checkpoint" / "model.safetensors"))


def test_run_folder_has_everything(tiny_run):
    for name in (
        "config.json",
        "metrics.jsonl",
        "loss_curve.svg",
        "checkpoint/config.json",
        "checkpoint/model.safetensors",
        "checkpoint/train_state.pt",
        "samples/epoch_0001.png",
        "reconstructions/epoch_0001.png",
    ):
        assert (tiny_run / name).is_file(), name
    records = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    epoch = [r for r in records if r["kind"] == "epoch"][-1]
    assert epoch["epoch"] == 1 and epoch["step"] == 4 and "test/elbo" in epoch and epoch["images_per_s"] > 0


def test_resume_mid_epoch_equals_uninterrupted_run(tmp_path):
    settings = TINY + ["train.epochs=2", "train.lr_schedule=cosine", "model.kl_warmup_steps=5"]
    genlab.train("vae", overrides=settings, out=tmp_path / "straight", **QUIET)
    genlab.train("vae", overrides=settings + ["train.max_steps=3"], out=tmp_path / "split", **QUIET)
    state = torch.load(tmp_path / "split" / "checkpoint" / "train_state.pt", weights_only=True)
    assert state["loop"]["step"] == 3 and state["loop"]["batch"] == 3
    genlab.train(out=tmp_path / "split", resume=True, overrides=["train.max_steps=none"], **QUIET)
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "split")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_existing_run_is_not_overwritten_without_force(tiny_run):
    before = weights(tiny_run)
    with pytest.raises(GenlabError, match="--resume to continue it or --force"):
        genlab.train("vae", overrides=TINY, out=tiny_run, **QUIET)
    after = weights(tiny_run)
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_divergence_stops_with_a_clear_error_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    run = tmp_path / "run"
    genlab.train("vae", overrides=TINY, out=run, **QUIET)
    good = weights(run)

    def nan_loss(self, batch, phase):
        return {"loss": torch.tensor(float("nan"), requires_grad=True)}

    monkeypatch.setattr(VAE, "loss", nan_loss)
    with pytest.raises(GenlabError, match="non-finite losses in a row"):
        genlab.train(out=run, resume=True, overrides=["train.epochs=2", "train.max_nonfinite=3"], **QUIET)
    kept = weights(run)
    assert all(torch.equal(good[k], kept[k]) for k in good)


def test_resume_needs_a_run_and_dry_run_writes_nothing(tmp_path):
    with pytest.raises(GenlabError, match="does not exist"):
        genlab.train(out=tmp_path / "missing", resume=True, **QUIET)
    config = genlab.train("vae", overrides=TINY, out=tmp_path / "dry", dry_run=True, **QUIET)
    assert config.model.image_size == 28 and config.model.likelihood == "bernoulli"
    assert config.data.binarize == "dynamic" and not (tmp_path / "dry").exists()


def test_batch_larger_than_data_is_a_clear_error(tmp_path):
    with pytest.raises(GenlabError, match="larger than the"):
        genlab.train("vae", overrides=TINY + ["train.batch_size=1000"], out=tmp_path / "r", **QUIET)


def test_cosine_schedule_ends_at_the_floor():
    assert lr_factor("constant", 50, 100, 0.0) == 1.0
    assert lr_factor("cosine", 0, 100, 0.1) == pytest.approx(1.0)
    assert lr_factor("cosine", 100, 100, 0.1) == pytest.approx(0.1)
    with pytest.raises(GenlabError):
        lr_factor("step", 0, 100, 0.0)


def test_rgb_folder_training_with_learned_variance(tmp_path):
    from PIL import Image

    for cls in ("red", "blue"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(20):
            color = (200, 30 + i, 30) if cls == "red" else (30, 30 + i, 200)
            Image.new("RGB", (48, 40), color).save(tmp_path / "imgs" / cls / f"{i}.png")
    settings = [
        "model.widths=8,16,16",
        "model.hidden=32",
        "model.latent_dim=4",
        "train.epochs=1",
        "train.batch_size=8",
        "model.likelihood=gaussian_learned",
        "model.image_size=32",
        "data.test_fraction=0.2",
        "train.grid_size=4",
    ]
    trained = genlab.train("vae", data=f"folder:{tmp_path / 'imgs'}", overrides=settings, out=tmp_path / "r", **QUIET)
    config = trained.run_config  # genlab.train returns the trained model, its run config beside it
    assert trained.run_dir == tmp_path / "r"
    assert (config.model.channels, config.model.image_size, config.data.binarize) == (3, 32, "none")
    model = genlab.load(tmp_path / "r")
    assert model.sample(2).shape == (2, 3, 32, 32)


@pytest.mark.slow  # a training subprocess
def test_sigterm_saves_a_checkpoint_that_resumes(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "genlab", "train", "vae", "--out", str(out)]
    for item in TINY + ["train.epochs=10000", "train.eval_images=0"]:
        cmd += ["--set", item]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "checkpoint" / "train_state.pt").exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, stderr  # interrupted is not finished (docs/reliability.md)
    assert "interrupted by SIGTERM at step" in stderr and "--resume" in stderr
    state = torch.load(out / "checkpoint" / "train_state.pt", weights_only=True)
    assert state["loop"]["step"] > 0
    genlab.train(out=out, resume=True, overrides=[f"train.max_steps={state['loop']['step'] + 2}"], **QUIET)
    assert (
        torch.load(out / "checkpoint" / "train_state.pt", weights_only=True)["loop"]["step"]
        == state["loop"]["step"] + 2
    )


def test_resume_applies_new_learning_rate(tmp_path):
    run = tmp_path / "run"
    genlab.train("vae", overrides=TINY, out=run, **QUIET)
    genlab.train(out=run, resume=True, overrides=["train.epochs=2", "train.lr=5e-5"], **QUIET)
    state = torch.load(run / "checkpoint" / "train_state.pt", weights_only=True)
    assert state["optimizers"]["main"]["param_groups"][0]["lr"] == pytest.approx(5e-5)


def test_gans_train_on_real_valued_mnist_and_bernoulli_needs_binary_data(tmp_path):
    config = genlab.train("gan", overrides=TINY[3:], out=tmp_path / "g", dry_run=True, **QUIET)
    assert config.data.binarize == "none"
    with pytest.raises(GenlabError, match="Bernoulli likelihood needs binary data"):
        genlab.train(
            "vae",
            overrides=TINY + ["model.likelihood=bernoulli", "data.binarize=none"],
            out=tmp_path / "v",
            dry_run=True,
            **QUIET,
        )


class Recorder(Callback):
    """A user callback: adds a field to each epoch record and keeps what was logged."""

    def __init__(self):
        self.logged = []

    def on_epoch_end(self, trainer, record):
        record["custom/images"] = len(trainer.train_data)
        record.setdefault("warnings", []).append("recorded")

    def on_epoch_logged(self, trainer, record):
        self.logged.append(dict(record))


def test_callbacks_given_to_train_replace_the_default_epoch_work(tmp_path):
    recorder = Recorder()
    training.train("vae", overrides=TINY + ["train.epochs=2"], out=tmp_path / "run", callbacks=[recorder], **QUIET)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert [r["custom/images"] for r in epochs] == [256, 256] and epochs == recorder.logged
    assert all(r["warnings"] == ["recorded"] for r in epochs)  # a callback's warning is logged with the epoch
    assert not (tmp_path / "run" / "samples").exists() and not (tmp_path / "run" / "loss_curve.svg").exists()
    assert (tmp_path / "run" / "checkpoint" / "model.safetensors").is_file()  # checkpoints are the loop's own

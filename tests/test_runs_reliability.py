"""Truthful exits, locked run folders, checkpoints that survive crashes inside a save, checksummed weights,
and runs that stopped before their first checkpoint (docs/reliability.md)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
import torch

import genlab
import genlab.evaluation
from genlab.apps.testing import run_cli
from genlab.errors import GenlabError
from genlab.runs import CHECKSUMS, LOCK, checkpoint_dir, recover_checkpoint
from genlab.testing import TINY

QUIET = {"echo": lambda s: None}
TRAIN = ["train", "vae", "--preset", "tiny", *[a for item in TINY for a in ("--set", item)]]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reliability") / "run"
    genlab.train("vae", preset="tiny", overrides=TINY, out=out, **QUIET)
    return out


def copy_of(run, tmp_path):
    return shutil.copytree(run, tmp_path / "run")


def test_diverged_training_exits_3_with_one_line(tmp_path, capsys):
    code, _, err = run_cli(
        capsys, *TRAIN, "--set", "train.lr=1e30", "--set", "train.epochs=2", "--out", tmp_path / "run"
    )
    assert code == 3 and "training diverged" in err and err.count("\n") == 1
    text = (tmp_path / "run" / "metrics.jsonl").read_text()
    assert "NaN" not in text and "Infinity" not in text


def test_a_second_process_on_a_run_folder_gets_one_line_and_a_dead_one_none(finished_run, tmp_path, capsys):
    run = copy_of(finished_run, tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); "
            "fcntl.flock(f, fcntl.LOCK_EX); f.truncate(0); f.write('4242'); f.flush(); print('held', flush=True); "
            "time.sleep(60)",
            str(run / LOCK),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    code, _, err = run_cli(capsys, "train", "--resume", "--out", run, "--set", "train.epochs=2")
    assert code == 2 and "is in use by another genlab process (pid 4242)" in err
    holder.send_signal(signal.SIGKILL)  # a dead holder's lock is released by the operating system
    holder.wait(timeout=10)
    code, _, err = run_cli(capsys, "train", "--resume", "--out", run, "--set", "train.epochs=2")
    assert code == 0, err


def test_a_complete_checkpoint_tmp_left_by_crashes_is_recovered(finished_run, tmp_path):
    run = copy_of(finished_run, tmp_path)
    os.replace(run / "checkpoint", run / "checkpoint.tmp")  # a crash after removing .old, before the swap
    assert checkpoint_dir(run) == run / "checkpoint.tmp"
    genlab.load(run)
    genlab.train(out=run, resume=True, overrides=["train.epochs=2"], **QUIET)  # the next save recovers it first
    assert (run / "checkpoint" / CHECKSUMS).is_file() and not (run / "checkpoint.tmp").exists()
    assert torch.load(run / "checkpoint" / "train_state.pt", weights_only=True)["loop"]["epoch"] == 2


def test_an_unfinished_checkpoint_tmp_is_never_trusted(finished_run, tmp_path):
    run = copy_of(finished_run, tmp_path)
    os.replace(run / "checkpoint", run / "checkpoint.old")
    shutil.copytree(run / "checkpoint.old", run / "checkpoint.tmp")
    (run / "checkpoint.tmp" / CHECKSUMS).unlink()  # killed before its checksums were written
    assert checkpoint_dir(run) == run / "checkpoint.old"
    recover_checkpoint(run)
    assert checkpoint_dir(run) == run / "checkpoint"
    shutil.rmtree(run / "checkpoint")
    with pytest.raises(GenlabError, match="no checkpoint yet"):
        checkpoint_dir(run)  # only the unfinished tmp is left: refused, with what to do


def test_corrupt_weights_are_refused_with_one_line(finished_run, tmp_path, capsys):
    run = copy_of(finished_run, tmp_path)
    weights = run / "checkpoint" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF  # a flipped bit in the tensor data, past the header
    weights.write_bytes(bytes(data))
    with pytest.raises(GenlabError, match="is corrupt"):
        genlab.load(run)
    code, _, err = run_cli(capsys, "sample", run, "-o", tmp_path / "s.png")
    assert code == 2 and "is corrupt" in err and err.count("\n") == 1


def test_a_run_that_stopped_before_its_first_checkpoint_starts_again(finished_run, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(finished_run / "config.json", run / "config.json")  # killed before its first checkpoint
    (run / "metrics.jsonl").write_text('{"kind": "step", "step": 1}\n')
    code, _, err = run_cli(capsys, "train", "--resume", "--out", run)
    assert code == 2 and "has no checkpoint yet" in err and "without --resume" in err
    code, out, err = run_cli(capsys, *TRAIN, "--out", run)
    assert code == 0 and "starting it again" in out, err
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert "epoch" in records[0] and records[-1]["kind"] == "epoch"  # a fresh log: the stale line is gone
    assert (run / "checkpoint" / "model.safetensors").is_file()


def test_runs_that_would_do_nothing_or_something_else_say_so(finished_run, tmp_path, capsys):
    run = copy_of(finished_run, tmp_path)
    code, out, err = run_cli(capsys, "train", "--resume", "--out", run)
    assert code == 0 and "nothing to train" in out and "train.epochs" in out
    code, _, err = run_cli(capsys, "train", "--resume", "--out", run, "--data", "mnistm")
    assert code == 2 and "--data applies to new runs only" in err
    code, _, err = run_cli(capsys, *TRAIN, "--set", "train.max_steps=0", "--out", tmp_path / "zero")
    assert code == 2 and "train.max_steps must be at least 1" in err and not (tmp_path / "zero").exists()


@pytest.mark.parametrize(
    "setting, message",
    [
        ("train.betas=2,3", "train.betas must each be in [0, 1)"),
        ("data.test_fraction=nan", "data.test_fraction must be a finite number"),
        ("data.test_fraction=-0.5", "data.test_fraction must be in [0, 1)"),
        ("model.gaussian_std=0", "model.gaussian_std must be positive"),
        ("model.beta=-1", "model.beta and model.kl_warmup_steps must be >= 0"),
        ("train.eval_images=-1", "train.eval_images must be >= 0"),
        ("train.lr=inf", "train.lr must be a finite number"),
    ],
)
def test_bad_training_values_get_one_line_and_write_nothing(setting, message, tmp_path, capsys):
    code, _, err = run_cli(capsys, *TRAIN, "--set", setting, "--out", tmp_path / "r")
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["eval", "{run}", "--metrics", "nll", "-k", "0"], "-k must be at least 1"),
        (["eval", "{run}", "--metrics", "elbo", "--images", "0"], "--images must be at least 1"),
        (["sample", "{run}", "--nrow", "-3", "-o", "{tmp}/s.png"], "--nrow must be at least 1"),
        (["train", "vae", "--data", "folder:", "--out", "{tmp}/r"], "folder: needs a path"),
    ],
)
def test_bad_command_values_get_one_line(argv, message, finished_run, tmp_path, capsys):
    code, _, err = run_cli(capsys, *[a.format(run=finished_run, tmp=tmp_path) for a in argv])
    assert code == 2 and message in err and err.count("\n") == 1, err


def test_damaged_run_files_get_one_line_or_are_read_around(finished_run, tmp_path, capsys):
    run = copy_of(finished_run, tmp_path)
    with open(run / "metrics.jsonl", "ab") as log:  # random bytes, as a disk error leaves them
        log.write(bytes(range(256)) + b"\n[1, 2]\n")
    (run / "eval.json").write_text("[1, 2, 3]")
    code, _, err = run_cli(capsys, "compare", run)
    assert code == 2 and "is not a genlab eval.json" in err and err.count("\n") == 1
    (run / "eval.json").unlink()
    code, _, err = run_cli(capsys, "eval", run, "--metrics", "elbo", "--images", "20")
    assert code == 0, err
    code, out, err = run_cli(capsys, "compare", run)
    assert code == 0 and "| run |" in out, err  # the damaged log lines are skipped
    code, _, err = run_cli(capsys, "train", "--resume", "--out", run, "--set", "train.epochs=2")
    assert code == 0, err  # training goes on and redraws its loss curve around them
    import pickle

    state = run / "checkpoint" / "train_state.pt"
    state.write_bytes(pickle.dumps(shutil.copytree))  # a pickle that would import code
    code, _, err = run_cli(capsys, "train", "--resume", "--out", run, "--set", "train.epochs=3")
    assert code == 2 and "is corrupt" in err  # the recorded checksum catches it first
    (run / "checkpoint" / CHECKSUMS).unlink()  # a missing record is refused too, never a way around the check
    code, _, err = run_cli(capsys, "train", "--resume", "--out", run, "--set", "train.epochs=3")
    assert code == 2 and f"has no {CHECKSUMS}" in err and err.count("\n") == 1
    assert run_cli(capsys, "verify", run, "--rehash")[0] == 0  # accepted on purpose: the loader itself refuses it
    code, _, err = run_cli(capsys, "train", "--resume", "--out", run, "--set", "train.epochs=3")
    assert code == 2 and "cannot read training state" in err and err.count("\n") == 1


def test_periodic_checkpoints_mid_epoch(tmp_path, monkeypatch):
    from genlab.training.loop import Trainer

    saved = []
    real = Trainer.checkpoint
    monkeypatch.setattr(
        Trainer, "checkpoint", lambda self: (saved.append((self.state.epoch, self.state.step)), real(self))[1]
    )
    genlab.train(
        "vae",
        preset="tiny",
        overrides=TINY + ["train.epochs=2", "train.checkpoint_every=3"],
        out=tmp_path / "run",
        **QUIET,
    )
    assert saved == [(0, 3), (1, 4), (1, 6), (2, 8)]  # every 3 steps, plus each epoch's end (4 steps an epoch)


def test_scores_belong_to_their_weights(finished_run, tmp_path, capsys):
    from genlab.apps.compare import compare_runs

    run = copy_of(finished_run, tmp_path)
    genlab.evaluation.evaluate(run, ["elbo"], images=20)
    first = json.loads((run / "eval.json").read_text())["elbo"]["provenance"]
    assert first["step"] == 4 and first["epoch"] == 1 and len(first["weights_sha256"]) == 64
    genlab.train(out=run, resume=True, overrides=["train.epochs=2"], **QUIET)  # new weights: the ELBO is stale
    table = compare_runs([run])
    assert "neg_elbo" not in table.splitlines()[0] and "left out, scored on earlier weights: run: elbo" in table
    genlab.evaluation.evaluate(run, ["nll"], k=2, images=20)
    scores = json.loads((run / "eval.json").read_text())
    assert scores["elbo"]["stale"] is True and "stale" not in scores["nll"]
    assert scores["nll"]["provenance"]["step"] == 8


def test_compare_keeps_unlike_sample_counts_apart(finished_run, tmp_path):
    from genlab.apps.compare import compare_runs

    runs = [shutil.copytree(finished_run, tmp_path / name) for name in ("a", "b")]
    for run, images in zip(runs, (20, 30)):
        genlab.evaluation.evaluate(run, ["elbo"], images=images)
    header = compare_runs(runs).splitlines()[0]
    assert "neg_elbo [n=20]" in header and "neg_elbo [n=30]" in header


def nan_in_calls(first: int, last: int):
    """A VAE loss that is NaN in training calls first..last (counted from 1), real otherwise."""
    from genlab.models.vae import VAE

    real, calls = VAE.loss, {"n": 0}

    def loss(self, batch, phase):
        out = real(self, batch, phase)
        if self.training and torch.is_grad_enabled():
            calls["n"] += 1
            if first <= calls["n"] <= last:
                out = {**out, "loss": out["loss"] * float("nan")}
        return out

    return loss


def test_divergence_rolls_back_with_a_halved_learning_rate(tmp_path, monkeypatch):
    from genlab.models.vae import VAE

    monkeypatch.setattr(VAE, "loss", nan_in_calls(6, 7))  # two bad steps in epoch 2 (4 steps an epoch)
    said = []
    genlab.train(
        "vae",
        preset="tiny",
        overrides=TINY + ["train.epochs=3", "train.max_nonfinite=2"],
        out=tmp_path / "run",
        echo=said.append,
    )
    state = torch.load(tmp_path / "run" / "checkpoint" / "train_state.pt", weights_only=True)
    assert state["loop"]["rollbacks"] == 1 and state["loop"]["lr_scale"] == 0.5 and state["loop"]["epoch"] == 3
    assert any("back to the checkpoint at step 4 with the learning rate x0.5" in line for line in said)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert {"kind": "rollback", "step": 4, "epoch": 1, "lr_scale": 0.5} in records


def test_divergence_stops_after_the_last_roll_back_or_at_once(tmp_path, monkeypatch, capsys):
    from genlab.models.vae import VAE

    monkeypatch.setattr(VAE, "loss", nan_in_calls(5, 10**9))  # every step after the first epoch
    code, _, err = run_cli(
        capsys,
        *TRAIN,
        "--set",
        "train.epochs=3",
        "--set",
        "train.max_nonfinite=2",
        "--set",
        "train.max_rollbacks=2",
        "--out",
        tmp_path / "a",
    )
    state = torch.load(tmp_path / "a" / "checkpoint" / "train_state.pt", weights_only=True)
    assert code == 3 and "training diverged" in err and state["loop"]["epoch"] == 1
    code, _, err = run_cli(
        capsys,
        *TRAIN,
        "--set",
        "train.epochs=3",
        "--set",
        "train.max_nonfinite=2",
        "--set",
        "train.on_diverge=stop",
        "--out",
        tmp_path / "b",
    )
    assert code == 3 and "training diverged" in err


def test_unreadable_images_are_named_once_and_translate_skips_them_in_folders(tmp_path, capsys):
    from PIL import Image

    from genlab.apps.translate import translate_files
    from genlab.data import load_dataset
    from genlab.testing import tiny_model

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(4):
        Image.new("L", (16, 16), color=40 * i).save(folder / f"{i}.png")
    (folder / "broken.png").write_bytes(b"not a png at all")
    load_dataset(f"folder:{folder}", "train", image_size=16, test_fraction=0.25)
    load_dataset(f"folder:{folder}", "test", image_size=16, test_fraction=0.25)
    err = capsys.readouterr().err
    assert err.count("skipped 1 unreadable file(s)") == 1 and "broken.png (UnidentifiedImageError)" in err
    model, _ = tiny_model("cyclegan", size=16)
    written = translate_files(model, [folder], tmp_path / "out")
    assert sorted(p.name for p in written) == ["0.png", "1.png", "2.png", "3.png"]
    with pytest.raises(GenlabError, match="cannot read image .*broken.png"):
        translate_files(model, [folder / "0.png", folder / "broken.png"], tmp_path / "named")
    assert not (tmp_path / "named").exists()  # a named bad file fails before anything is written


def test_loading_and_recovery_pick_the_same_newest_checkpoint(finished_run, tmp_path):
    run = copy_of(finished_run, tmp_path)
    genlab.train(out=run, resume=True, overrides=["train.epochs=2"], **QUIET)
    shutil.copytree(run / "checkpoint", run / "checkpoint.tmp")  # the newer one, finished
    os.replace(run / "checkpoint", run / "checkpoint.old")  # a crash between the two renames of a save
    shutil.rmtree(run / "checkpoint.old")
    shutil.copytree(finished_run / "checkpoint", run / "checkpoint.old")  # the older one
    assert checkpoint_dir(run) == run / "checkpoint.tmp"
    recover_checkpoint(run)
    state = torch.load(run / "checkpoint" / "train_state.pt", weights_only=True)
    assert state["loop"]["epoch"] == 2 and checkpoint_dir(run) == run / "checkpoint"


def test_progress_lines_at_a_fixed_interval_without_a_terminal(tmp_path, monkeypatch):
    from genlab.training import loop

    monkeypatch.setattr(loop, "PROGRESS_SECONDS", 0.0)
    said = []
    genlab.train("vae", preset="tiny", overrides=TINY + ["train.epochs=2"], out=tmp_path / "run", echo=said.append)
    progress = [line for line in said if line.startswith("step ")]
    assert progress[0].startswith("step 1/8 (epoch 1/2) loss=") and len(progress) == 8
    assert sum(line.startswith("epoch ") and "test/loss=" in line for line in said) == 2


def test_a_terminal_gets_a_progress_bar_and_the_epoch_line_with_the_test_loss(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    genlab.train("vae", preset="tiny", overrides=TINY, out=tmp_path / "run", **QUIET)
    out, err = capsys.readouterr()
    assert "4/4" in err and "epoch 1/1 step 4" in out and "test/loss=" in out  # the bar on stderr, lines on stdout

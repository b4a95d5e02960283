"""Loggers behind one interface (training/loggers.py): train.loggers names them; CSV rows equal metrics.jsonl,
a resumed run's included; Weights & Biases logs offline (checked against a stand-in module); a missing package
or an unknown name is one line before anything is written."""

from __future__ import annotations

import csv
import json
import sys
import types

import pytest

import genlab
from genlab.errors import GenlabError
from genlab.testing import TINY

QUIET = {"echo": lambda s: None}


def csv_rows(run) -> list[dict]:
    with open(run / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_csv_has_a_row_per_record_and_follows_a_resume(tmp_path):
    run = tmp_path / "run"
    genlab.train("vae", preset="tiny", overrides=[*TINY, "train.loggers=csv", "train.max_steps=3"], out=run, **QUIET)
    genlab.train(out=run, resume=True, overrides=["train.max_steps=none", "train.epochs=2"], **QUIET)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    rows = csv_rows(run)
    assert [(r["kind"], int(r["step"])) for r in rows] == [(r["kind"], r["step"]) for r in records]
    epoch = next(r for r in rows if r["kind"] == "epoch")
    assert float(epoch["train/loss"]) == pytest.approx(next(r for r in records if r["kind"] == "epoch")["train/loss"])


class FakeRun:
    """What the wandb logger calls on a run, recorded."""

    def __init__(self, **options):
        self.options, self.logged, self.finished = options, [], False

    def log(self, values, step):
        self.logged.append((step, values))

    def finish(self):
        self.finished = True


def test_wandb_logs_offline_every_record_at_its_step(tmp_path, monkeypatch):
    runs = []
    fake = types.SimpleNamespace(init=lambda **options: runs.append(FakeRun(**options)) or runs[-1])
    monkeypatch.setitem(sys.modules, "wandb", fake)
    run = tmp_path / "run"
    genlab.train("vae", preset="tiny", overrides=[*TINY, "train.loggers=wandb"], out=run, **QUIET)
    (only,) = runs
    assert only.options["mode"] == "offline" and only.options["dir"] == str(run) and only.finished
    assert only.options["config"]["model_name"] == "vae"
    steps = [step for step, values in only.logged if "epoch/train/loss" in values]
    assert steps == [
        json.loads(line)["step"]
        for line in (run / "metrics.jsonl").read_text().splitlines()
        if '"kind": "epoch"' in line
    ]


@pytest.mark.parametrize(
    "setting, message",
    [("train.loggers=nope", "unknown logger 'nope'"), ("train.loggers=csv,wandb", "needs Weights & Biases")],
)
def test_unknown_or_missing_loggers_are_one_line_before_anything_is_written(setting, message, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if the package were not installed
    with pytest.raises(GenlabError, match=message):
        genlab.train("vae", preset="tiny", overrides=[*TINY, setting], out=tmp_path / "run", **QUIET)
    assert not (tmp_path / "run").exists()

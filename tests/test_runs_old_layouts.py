"""Run folders written by earlier layouts of the code still load, compute what they computed then, resume and
score: tests/fixtures/runs-0.1.0 (made at commit 3cd353f by tests/fixtures/make_old_runs.py) and runs-0.2.0 (the
translators before their terms became parts, made at commit ab3b9ef by tests/fixtures/make_runs_0_2_0.py)."""

from __future__ import annotations

import json
import runpy
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

import genlab
from genlab.apps.testing import run_cli

FIXTURES = Path(__file__).resolve().parent / "fixtures"
OLD_RUNS = FIXTURES / "runs-0.1.0"
QUIET = {"echo": lambda s: None}


# the scripts that wrote the fixtures: each one's RUNS names its runs and its outputs() computes what they record
NEWER = SimpleNamespace(**runpy.run_path(str(FIXTURES / "make_runs_0_2_0.py")))  # it loads make_old_runs.py
MAKER = NEWER.OLD
MAKERS = {"runs-0.1.0": MAKER, "runs-0.2.0": NEWER}  # layout folder -> its script
FIXTURE_RUNS = [(layout, name) for layout, maker in MAKERS.items() for name in sorted(maker.RUNS)]


def test_every_fixture_folder_is_a_run_its_script_writes():
    """runs-0.1.0 covers the seven models genlab 0.1.0 registered, runs-0.2.0 the translator terms of its
    layout; no folder is left unchecked."""
    assert sorted(p.name for p in FIXTURES.glob("runs-*") if p.is_dir()) == sorted(MAKERS)
    for layout, maker in MAKERS.items():
        assert sorted(p.name for p in (FIXTURES / layout).iterdir() if p.is_dir()) == sorted(maker.RUNS)


@pytest.mark.parametrize("layout, name", FIXTURE_RUNS)
def test_old_run_loads_and_computes_what_it_computed(layout, name):
    """Samples, reconstructions, translations (in fixed styles), logits and losses equal those recorded when the
    run was written."""
    run = FIXTURES / layout / name
    expected = load_file(str(run / "expected.safetensors"))
    got = MAKERS[layout].outputs(genlab.load(run))
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, rtol=1e-4, atol=1e-5, msg=lambda m, key=key: f"{name} {key}: {m}")


@pytest.mark.parametrize("name", ["gan", "latent-gan"])
def test_old_run_resumes_from_its_training_state(name, tmp_path):
    """--resume continues an old run from its saved optimizer, loop and RNG state."""
    run = shutil.copytree(OLD_RUNS / name, tmp_path / name)
    before = len((run / "metrics.jsonl").read_text().splitlines())
    genlab.train(out=run, resume=True, overrides=["train.epochs=2"], **QUIET)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert len(records) > before and [r["epoch"] for r in epochs] == [1, 2]
    assert epochs[1]["step"] == 2 * epochs[0]["step"]
    state = torch.load(run / "checkpoint" / "train_state.pt", weights_only=True)
    assert state["loop"]["epoch"] == 2


def test_old_run_is_scored_and_sampled_from_the_command_line(tmp_path, capsys):
    """genlab eval and genlab sample work on a run folder of the old layout."""
    run = shutil.copytree(OLD_RUNS / "vae", tmp_path / "vae")
    code, out, err = run_cli(capsys, "eval", run, "--metrics", "elbo", "--images", "50")
    assert code == 0 and "-ELBO (nats)" in out, err
    assert json.loads((run / "eval.json").read_text())["elbo"]["provenance"]["images"] == 50
    code, out, err = run_cli(capsys, "sample", run, "-n", "4", "-o", tmp_path / "s.png")
    assert code == 0 and (tmp_path / "s.png").is_file(), err

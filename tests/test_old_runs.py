"""Run folders written by an earlier layout of the code (tests/fixtures/runs-0.1.0, made at commit 3cd353f by
tests/fixtures/make_old_runs.py) still load, compute what they computed then, resume and score."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import genlab

from conftest import run_cli

FIXTURES = Path(__file__).resolve().parent / "fixtures"
OLD_RUNS = FIXTURES / "runs-0.1.0"
QUIET = {"echo": lambda s: None}


def _maker():
    """The script that wrote the fixtures: its ``outputs()`` computes what they record."""
    spec = importlib.util.spec_from_file_location("make_old_runs", FIXTURES / "make_old_runs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKER = _maker()


def test_every_model_of_the_old_layout_has_a_fixture():
    """The fixtures cover the seven models genlab 0.1.0 registered."""
    assert sorted(p.name for p in OLD_RUNS.iterdir() if p.is_dir()) == sorted(MAKER.RUNS)


@pytest.mark.parametrize("name", sorted(MAKER.RUNS))
def test_old_run_loads_and_computes_what_it_computed(name):
    """Samples, reconstructions, translations and logits equal those recorded when the run was written."""
    expected = load_file(str(OLD_RUNS / name / "expected.safetensors"))
    got = MAKER.outputs(genlab.load(OLD_RUNS / name))
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, rtol=1e-4, atol=1e-5, msg=lambda m: f"{name} {key}: {m}")


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

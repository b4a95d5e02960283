"""Checksum verification cannot be switched off: a checkpoint whose checksums.json is missing or damaged is
refused in one line by every reader, and `genlab verify --rehash` is the one explicit way to accept edited files
(runs.py, apps/cli/verify.py)."""

from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

import genlab
from genlab.apps.cli import main
from genlab.errors import GenlabError
from genlab.runs import CHECKSUMS, checkpoint_dir
from genlab.testing import TINY

QUIET = {"echo": lambda s: None}


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("checksums") / "run"
    genlab.train("vae", preset="tiny", overrides=TINY, out=out, **QUIET)
    return out


def edited_copy(run, tmp_path, value: float):
    """A copy of ``run`` whose first weight tensor was overwritten with ``value`` (metadata kept)."""
    copy = shutil.copytree(run, tmp_path / "run")
    path = checkpoint_dir(copy) / "model.safetensors"
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    tensors = load_file(str(path))
    first = sorted(k for k, v in tensors.items() if v.is_floating_point())[0]
    tensors[first] = torch.full_like(tensors[first], value)
    save_file(tensors, str(path), metadata=meta)
    return copy


def one_line_error(argv, capsys) -> str:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("damage", ["{garbage", None, '{"config.json": "0"}'])
def test_nan_weights_behind_a_missing_or_damaged_record_are_refused_everywhere(damage, good_run, tmp_path, capsys):
    run = edited_copy(good_run, tmp_path, float("nan"))
    record = checkpoint_dir(run) / CHECKSUMS
    if damage is None:
        record.unlink()
    else:
        record.write_text(damage)
    with pytest.raises(GenlabError, match=CHECKSUMS):
        genlab.load(run)
    assert "verify RUN --rehash" in one_line_error(["sample", run, "-o", tmp_path / "s.png"], capsys)
    one_line_error(["train", "--resume", "--out", run, "--set", "train.epochs=2"], capsys)
    one_line_error(["verify", run], capsys)
    assert not (tmp_path / "s.png").exists()


def test_verify_passes_a_good_run_and_names_its_files(good_run, capsys):
    assert main(["verify", str(good_run)]) == 0
    out = capsys.readouterr().out
    assert "model.safetensors" in out and "train_state.pt" in out and "config.json" in out


def test_rehash_accepts_weights_edited_on_purpose_and_only_finite_ones(good_run, tmp_path, capsys):
    run = edited_copy(good_run, tmp_path, 0.5)
    assert "is corrupt" in one_line_error(["sample", run, "-o", tmp_path / "s.png"], capsys)
    assert main(["verify", str(run), "--rehash"]) == 0
    assert main(["sample", str(run), "-n", "4", "-o", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").is_file()
    nan_run = edited_copy(good_run, tmp_path / "nan", float("nan"))
    assert "non-finite" in one_line_error(["verify", nan_run, "--rehash"], capsys)
    assert "is corrupt" in one_line_error(["verify", nan_run], capsys)

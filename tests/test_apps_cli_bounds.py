"""Numbers on the command line are finite and in range, and no output outgrows what can be read back or stored:
one line and exit 2, nothing written (apps/cli/common.py, export/samples.py)."""

from __future__ import annotations

import shutil

import pytest

from genlab.apps.cli import main


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sample", "{run}", "--seed", "-1"], "--seed must be at least 0, got -1"),
        (["sample", "{run}", "-n", "5_0"], "must be a whole number"),
        (["sample", "{run}", "-n", "٣"], "must be a whole number"),  # an Arabic-Indic digit: int() would take it
        (["sample", "{run}", "-n", "0"], "must be at least"),
        (["traverse", "{run}", "--span", "nan"], "--span must be a finite number in [0, inf], got 'nan'"),
        (["traverse", "{run}", "--span", "inf"], "--span must be a finite number"),
        (["interpolate", "{run}", "--steps", "1"], "must be at least"),
        (["interpolate", "{run}", "--seeds", "0", "1", "--steps", "100000"], "too large to read back"),
        (["sample", "{run}", "-n", "100000"], "too large to read back"),
        (["reconstruct", "{run}", "-n", "100000"], "too large to read back"),
        (["sample", "{run}", "--guide", "digits-v2", "--label", "1", "--eps2", "-1"], "--eps2 must be a finite number"),
    ],
)
def test_bad_numbers_and_oversized_pictures_are_one_line(argv, message, tiny_run, tmp_path, capsys):
    out = tmp_path / "out.png"
    code = main([a.format(run=tiny_run) for a in argv] + ["-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_sample_files_larger_than_the_free_disk_are_refused_before_writing(tiny_run, tmp_path, capsys):
    free = shutil.disk_usage(tmp_path).free
    n = free // (28 * 28) + 1  # one more uint8 image than the disk holds
    out = tmp_path / "many.npz"
    code = main(["sample", str(tiny_run), "-n", str(n), "--format", "npz", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "of disk, more than" in err and not out.exists()


def test_numbers_in_range_still_work(tiny_run, tmp_path, capsys):
    """The other side of the checks above: valid values at the edges write their pictures."""
    for argv in (
        ["interpolate", str(tiny_run), "--steps", "2", "--seeds", "0", "4294967295"],
        ["traverse", str(tiny_run), "--span", "0", "--steps", "2", "--dims", "0"],
        ["sample", str(tiny_run), "-n", "1", "--seed", "4294967295"],
    ):
        out = tmp_path / f"{argv[0]}.png"
        assert main(argv + ["-o", str(out)]) == 0, capsys.readouterr().err
        assert out.is_file()


@pytest.mark.parametrize(
    "setting, message",
    [
        ("model.beta=nan", "model.beta must be a finite number"),
        ("train.lr=inf", "train.lr must be a finite number"),
        ("model.beta=-1e400", "must be a finite number"),
        ("train.grid_size=100000", "train.grid_size in 1..1024"),
    ],
)
def test_config_numbers_are_finite_and_bounded(setting, message, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "vae", "--preset", "tiny", "--set", setting, "--out", str(out), "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()

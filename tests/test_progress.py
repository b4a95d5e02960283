"""Progress of long eval and sample jobs: lines with an ETA when stderr is a log, nothing for library calls."""

from __future__ import annotations

import re

import pytest

from genlab import progress
from genlab.apps.cli import main


@pytest.fixture()
def every_batch(monkeypatch):
    """A progress line after every batch instead of every 30 s."""
    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)


def test_lines_report_done_total_and_time_left(every_batch, capsys):
    with progress.shown():
        assert list(progress.tracked(range(3), 3, "work")) == [0, 1, 2]
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(re.fullmatch(r"work: [12]/3 batches, \d\d:\d\d left", line) for line in lines)


def test_progress_is_quiet_unless_shown(every_batch, capsys):
    assert list(progress.tracked(range(3), 3, "work")) == [0, 1, 2]
    with progress.shown(), progress.shown(False):  # evaluation inside training, say
        list(progress.tracked(range(3), 3, "work"))
    assert capsys.readouterr().err == ""


def test_eval_reports_its_progress_on_a_log(tiny_run, every_batch, tmp_path, capsys):
    import shutil

    run = shutil.copytree(tiny_run, tmp_path / "run")
    code = main(["eval", str(run), "--metrics", "elbo,nll", "-k", "4", "--images", "30", "--batch-size", "10"])
    out, err = capsys.readouterr()
    assert code == 0 and "NLL, k=4" in out
    assert "nll k=4: 1/3 batches" in err and "nll k=4: 2/3 batches" in err and " left" in err


def test_sample_export_reports_its_progress(tiny_run, every_batch, tmp_path, capsys):
    code = main(
        ["sample", str(tiny_run), "-n", "30", "--format", "npz", "--batch-size", "10", "-o", str(tmp_path / "s.npz")]
    )
    assert code == 0 and "samples: 2/3 batches" in capsys.readouterr().err


def test_ipykernel_imported_outside_a_notebook_keeps_the_lines(every_batch, capsys, monkeypatch):
    """Only a running Jupyter kernel draws bars in place; the module merely imported (by a test) is a log."""
    import sys
    import types

    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    with progress.shown():
        list(progress.tracked(range(3), 3, "work"))
    assert "work: 1/3 batches" in capsys.readouterr().err

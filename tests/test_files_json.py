"""Every JSON reader bounds size and nesting and reads around a bad line: a log line or an eval.json of 2,000
nested brackets is a damaged file, never a RecursionError (files.py and its readers)."""

from __future__ import annotations

import json
import shutil

import pytest

import genlab
from genlab.apps.cli import main
from genlab.files import json_record, parse_json
from genlab.testing import TINY

DEEP = "[" * 2000


@pytest.fixture(scope="module")
def scored_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("json") / "run"
    genlab.train("vae", preset="tiny", overrides=TINY, out=out, echo=lambda s: None)
    assert main(["eval", str(out), "--metrics", "elbo", "--images", "20"]) == 0
    return out


def test_deep_or_huge_json_is_a_value_error_and_a_skipped_line():
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_json(DEEP + "]" * 2000)
    with pytest.raises(ValueError, match="more than"):
        parse_json("[" + "1," * 100 + "1]", max_bytes=50)
    assert json_record(DEEP) is None and json_record("[1]") is None and json_record('{"step": 1') is None
    assert json_record('{"step": 1}') == {"step": 1}


def test_every_command_reads_around_a_deeply_nested_log_line_and_eval_json(scored_run, tmp_path, capsys):
    run = shutil.copytree(scored_run, tmp_path / "run")
    with open(run / "metrics.jsonl", "a") as log:
        log.write(DEEP + "\n")
    assert main(["report", str(run)]) == 0, capsys.readouterr().err
    (run / "eval.json").write_text(DEEP)
    code = main(["compare", str(run)])
    err = capsys.readouterr().err
    assert code == 2 and "not valid JSON" in err and len(err.strip().splitlines()) == 1
    assert main(["report", str(run)]) == 0, capsys.readouterr().err
    assert main(["eval", str(run), "--metrics", "elbo", "--images", "20"]) == 0  # the damaged file is replaced
    assert "elbo" in json.loads((run / "eval.json").read_text())
    assert main(["train", "--resume", "--out", str(run), "--set", "train.epochs=2"]) == 0
    epochs = [
        json.loads(line)["epoch"]
        for line in (run / "metrics.jsonl").read_text().splitlines()
        if '"kind": "epoch"' in line
    ]
    assert epochs == [1, 2]


def test_the_studio_lists_a_run_whose_files_are_nested_too_deeply(scored_run, tmp_path):
    from fastapi.testclient import TestClient

    from genlab.apps.server import create_app

    run = shutil.copytree(scored_run, tmp_path / "run")
    (run / "eval.json").write_text(DEEP)
    with open(run / "metrics.jsonl", "a") as log:
        log.write(DEEP + "\n")
    with TestClient(create_app([run])) as client:
        response = client.get("/api/runs")
        assert response.status_code == 200
        assert len(response.json()) == 1

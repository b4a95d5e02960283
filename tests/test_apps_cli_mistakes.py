"""Small promises: a busy port, a file named as a folder, a failed start, odd digits in the studio, one image
scored: each is one true line (or a clean answer), never a traceback, a warning or a wrong exit code."""

from __future__ import annotations

import pickle
import shutil
import socket
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import genlab
from genlab.apps.cli import main
from genlab.testing import TINY

FIXTURES = Path(__file__).parent / "fixtures" / "runs-0.2.0"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mistakes") / "run"
    genlab.train("vae", preset="tiny", overrides=TINY, out=out, echo=lambda s: None)
    return out


def cli(argv, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_serve_on_a_busy_port_is_exit_2_with_one_line(run, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = cli(["serve", run, "--port", port], capsys)
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err and len(err.strip().splitlines()) == 1


def test_a_file_named_as_an_image_folder_says_so(tmp_path, capsys):
    afile = tmp_path / "passwd"
    afile.write_text("root:x:0:0")
    code, _, err = cli(["train", "vae", "--data", f"folder:{afile}", "--out", tmp_path / "run"], capsys)
    assert code == 2 and "is a file, not a folder" in err


def test_translate_names_the_input_folder_of_a_skipped_file(tmp_path, capsys):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    Image.fromarray(np.full((16, 16), 90, np.uint8)).save(inputs / "good.png")
    (inputs / "broken.png").write_bytes(b"not an image")
    code, _, err = cli(
        ["translate", FIXTURES / "cyclegan-style", "--direction", "a2b", inputs, "--out", tmp_path / "out"], capsys
    )
    assert code == 0 and (tmp_path / "out" / "good.png").is_file(), err
    assert f"in {inputs}: broken.png" in err


def test_a_run_that_cannot_start_leaves_nothing_behind(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = cli(
        ["train", "vae", "--preset", "tiny", "--set", "data.limit=8", "--set", "train.batch_size=64", "--out", out],
        capsys,
    )
    assert code == 2 and "larger than the 8 training images" in err
    assert not out.exists() or not any(out.iterdir())
    code, _, err = cli(
        ["train", "vae", "--preset", "tiny", *sum((["--set", s] for s in TINY), []), "--out", out], capsys
    )
    assert code == 0, err  # the same folder then takes a run without --force


@pytest.mark.parametrize(
    "query",
    [
        "samples.png?n=5_0",
        "samples.png?n=%D9%A3",
        "samples.png?seed=1_0",
        "decode.png?z=%D9%A3,0,0,0",
        "manifold.png?steps=1%D9%A3",
    ],
)
def test_the_studio_takes_ascii_digits_only_and_echoes_no_pattern(run, query):
    from fastapi.testclient import TestClient

    from genlab.apps.server import create_app

    with TestClient(create_app([run])) as client:
        run_id = client.get("/api/runs").json()[0]["id"]
        response = client.get(f"/api/runs/{run_id}/{query}")
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert "pattern" not in detail and "^" not in detail and "\\" not in detail, detail
        assert client.get(f"/api/runs/{run_id}/samples.png?n=4&seed=10").status_code == 200


def test_scoring_one_image_prints_no_nan_and_no_warning(run, tmp_path, capsys):
    copy = shutil.copytree(run, tmp_path / "run")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        code, out, err = cli(["eval", copy, "--metrics", "nll,elbo", "-k", "1", "--images", "1"], capsys)
    assert code == 0, err
    assert "nan" not in out.lower() and "NLL, k=1" in out


def test_a_pickled_training_state_is_one_line_without_a_warning(run, tmp_path, capsys):
    copy = shutil.copytree(run, tmp_path / "run")
    (copy / "checkpoint" / "train_state.pt").write_bytes(pickle.dumps(shutil.copytree))
    assert cli(["verify", copy, "--rehash"], capsys)[0] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, _, err = cli(["train", "--resume", "--out", copy, "--set", "train.epochs=2"], capsys)
    assert code == 2 and "cannot read training state" in err and len(err.strip().splitlines()) == 1

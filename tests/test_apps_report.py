"""genlab report and genlab compare --html: one self-contained page per run kind -- curves as inline SVG,
pictures that decode, the config, eval.json's scores with stale ones marked -- and nothing fetched from anywhere."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil

import pytest
from PIL import Image

from genlab.apps.cli import main
from genlab.apps.report import compare_page, run_report, write_report
from genlab.apps.testing import conditional_gan_run, cyclegan_run, run_cli, toy_gan_run, vae_run
from genlab.charts import loss_chart, training_charts
from genlab.evaluation import evaluate
from genlab.runs import weights_identity
from genlab.viz import run_records

pytestmark = pytest.mark.usefixtures("one_thread")
EXTERNAL = re.compile(
    r"""(src|href)\s*=\s*["']?\s*(https?:|//)|url\(\s*["']?\s*(https?:|//)|@import|<script|<link""", re.IGNORECASE
)
KINDS = {"vae": vae_run, "cgan": conditional_gan_run, "toy": toy_gan_run, "cyclegan": cyclegan_run}
PICTURES = {
    "vae": ["samples", "reconstructions"],
    "cgan": ["samples"],
    "toy": ["samples"],
    "cyclegan": ["translations a2b", "translations b2a"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The four tiny runs of tests/helpers/studio_runs.py, unscored."""
    root = tmp_path_factory.mktemp("report-runs")
    return {kind: make(root) for kind, make in KINDS.items()}


@pytest.fixture(scope="module")
def scored(runs, tmp_path_factory):
    """Copies of the VAE (scored by genlab eval: elbo current, nll of earlier weights; an interpolation made by
    genlab interpolate) and of the conditional GAN (a FID entry of its current weights, written by hand)."""
    root = tmp_path_factory.mktemp("scored")
    vae, cgan = root / "vae-scored", root / "cgan-scored"
    shutil.copytree(runs["vae"], vae)
    shutil.copytree(runs["cgan"], cgan)
    evaluate(vae, ["elbo", "nll"], k=2, images=10, batch_size=10)
    assert main(["interpolate", str(vae), "--steps", "5"]) == 0
    results = json.loads((vae / "eval.json").read_text())
    results["nll"]["provenance"]["weights_sha256"] = "f" * 64
    results["nll"]["stale"] = True
    (vae / "eval.json").write_text(json.dumps(results))
    provenance = {
        "extractor": "digits",
        "extractor_sha256": "ab" * 32,
        "generated_images": 100,
        "real_images": 100,
        "reference": "mnist:test",
        **weights_identity(cgan),
    }
    (cgan / "eval.json").write_text(json.dumps({"fid": {"fid": 123.456, "provenance": provenance}}))
    return {"vae": vae, "cgan": cgan}


def self_contained(html: str) -> None:
    """No script, stylesheet, picture or font comes from anywhere but the page itself."""
    assert not EXTERNAL.search(html), EXTERNAL.search(html).group(0)
    assert all(src.startswith("data:image/") for src in re.findall(r'src="([^"]*)"', html))
    assert "http://" not in html and "https://" not in html


def embedded_pictures(html: str) -> list[Image.Image]:
    """Every picture inside the page, decoded."""
    pictures = []
    for data in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html):
        picture = Image.open(io.BytesIO(base64.b64decode(data, validate=True)))
        picture.load()
        pictures.append(picture)
    return pictures


@pytest.mark.parametrize("kind", list(KINDS))
def test_report_of_each_run_kind_is_one_self_contained_page(runs, kind):
    """Curves as SVG, each picture folder's epochs as decodable PNGs, the config, and no scores yet."""
    run = runs[kind]
    path = write_report(run)
    html = path.read_text(encoding="utf-8")
    assert path == run / "report.html" and html.startswith("<!DOCTYPE html>")
    self_contained(html)
    charts = training_charts(run_records(run))
    assert len(charts) >= 2 and all(chart in html for chart in charts.values())  # genlab.charts' curves, all of them
    epochs = json.loads((run / "config.json").read_text())["train"]["epochs"]
    assert len(embedded_pictures(html)) == len(PICTURES[kind]) * epochs
    assert all(f"<h3>{folder}</h3>" in html for folder in PICTURES[kind])
    assert f"<code>train.epochs</code></td><td>{epochs}</td>" in html
    assert "<code>data.name</code>" in html and "<code>train.batch_size</code>" in html
    assert f"not scored yet: genlab eval {run}" in html


def test_report_draws_the_eval_table_with_provenance_and_stale_scores_marked(scored):
    """genlab eval's rows, the weights each number belongs to, counts, and the nll of other weights marked stale;
    pictures made after training (genlab interpolate) are in too."""
    run = scored["vae"]
    html = run_report(run)
    self_contained(html)
    results = json.loads((run / "eval.json").read_text())
    current = weights_identity(run)
    rows = re.findall(r"<tr( class=\"stale\")?><td><code>(\w+)</code>", html)
    assert rows == [("", "elbo"), (' class="stale"', "nll")]
    assert f"-ELBO (nats): {results['elbo']['neg_elbo']:.2f}" in html and "NLL, k=2 (nats)" in html
    assert f'<code title="{current["weights_sha256"]}">{current["weights_sha256"][:12]}</code>' in html
    assert f"step {current['step']}, epoch {current['epoch']}" in html and "10 test images" in html
    assert "ffffffffffff" in html and "stale: scored on earlier weights" in html
    assert "not scored yet" not in html
    assert len(embedded_pictures(html)) == 5 and "<figcaption>interpolation.png</figcaption>" in html


def test_report_reads_around_damaged_metrics_lines(runs, tmp_path):
    """Torn and random lines of metrics.jsonl are skipped; the curves are drawn from the rest."""
    run = tmp_path / "vae"
    shutil.copytree(runs["vae"], run)
    clean = run_report(run)
    with open(run / "metrics.jsonl", "ab") as f:
        f.write(b'\x00\xff garbage\n{"kind": "step", "step": 99, "loss": \n[1, 2]\n')
    damaged = run_report(run)
    strip = re.compile(r"<tr><td>report</td>.*?</tr>")  # the report's own time stamp
    assert strip.sub("", damaged) == strip.sub("", clean) and "<polyline" in damaged


def test_report_reads_records_and_scores_of_the_wrong_shape(runs, tmp_path):
    """Records and eval.json entries with missing or mistyped fields still give a report (the raw numbers of an
    entry the metric cannot print)."""
    run = tmp_path / "vae"
    shutil.copytree(runs["vae"], run)
    with open(run / "metrics.jsonl", "a") as f:
        for record in (
            {"kind": "epoch", "step": 9, "seconds": "0.05", "warnings": 5},
            {"kind": "epoch"},
            {"kind": "step", "step": "x", "loss": 1.0},
            {"kind": "step", "step": 10, "loss": True},
        ):
            f.write(json.dumps(record) + "\n")
    entries = {
        "elbo": {"provenance": [1]},
        "nll": {"nll": "x", "k": 3, "provenance": {"step": 3, "weights_sha256": 7}},
        "bogus": 5,
        "fid@x": {"fid": 1.5, "provenance": {"extractor": 3}},
    }
    (run / "eval.json").write_text(json.dumps(entries))
    html = run_report(run)
    self_contained(html)
    assert "<code>nll</code>" in html and "nll: x" in html and "FID: 1.500" in html and "<polyline" in html


def test_report_verb_writes_the_default_path_and_fails_in_one_line(runs, tmp_path, capsys):
    """RUN/report.html by default (its own page is replaced on the next run); exit 2 and one line for a missing
    folder, a folder that is not a run, and a file genlab did not write."""
    run = runs["toy"]
    for _ in range(2):
        code, out, err = run_cli(capsys, "report", run)
        assert (code, out.strip()) == (0, f"wrote {run / 'report.html'}")
    for bad in (tmp_path / "missing", tmp_path):
        code, out, err = run_cli(capsys, "report", bad)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "genlab: error:" in err
    mine = tmp_path / "notes.html"
    mine.write_text("my notes")
    code, out, err = run_cli(capsys, "report", run, "-o", mine)
    assert code == 2 and "--force" in err and mine.read_text() == "my notes"
    assert run_cli(capsys, "report", run, "-o", mine, "--force")[0] == 0 and "<svg" in mine.read_text()


def test_compare_html_holds_every_run_row_a_picture_and_a_loss_curve(scored, tmp_path, capsys):
    """compare's table (both runs, their numbers, the stale note) on a page of its own, printed or written."""
    runs = [scored["vae"], scored["cgan"]]
    code, out, err = run_cli(capsys, "compare", *runs, "--html")
    assert code == 0 and err == ""
    self_contained(out)
    assert "<td>vae-scored</td>" in out and "<td>cgan-scored</td>" in out and "<td>123.5</td>" in out
    assert "left out, scored on earlier weights: vae-scored: nll" in out
    assert len(embedded_pictures(out)) == 2 and out.count("<svg") == 2
    assert all(loss_chart(run_records(run), width=260, height=160) in out for run in runs)  # as loss_curve.svg
    target = tmp_path / "compare.html"
    code, out, err = run_cli(capsys, "compare", *runs, "--html", "-o", target)
    assert (code, out.strip()) == (0, f"wrote {target}")
    assert target.read_text(encoding="utf-8") == compare_page(runs)

"""genlab eval's sample-quality metrics, cached reference features, genlab compare, evaluation during training."""

from __future__ import annotations

import csv
import io
import json

import pytest
import torch

import genlab
from genlab.apps.cli import main
from genlab.apps.compare import compare_runs
from genlab.errors import GenlabError
from genlab.evaluation import evaluate, resolve_extractor, score
from genlab.metrics import features as features_module
from genlab.metrics.extractors import DEFAULT_DIGIT_EXTRACTOR
from genlab.runs import load_run
from genlab.testing import TINY_TRAIN, PixelStats

QUIET = {"echo": lambda s: None}


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "gan"
    genlab.train("gan", preset="tiny", overrides=TINY_TRAIN, out=out, **QUIET)
    return out


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_quality_metrics_share_features_and_carry_provenance(gan_run, cache):
    model, config = load_run(gan_run)
    results = score(
        model, config, ["fid", "kid", "pr", "dc"], samples=200, reference_images=300, extractor=PixelStats()
    )
    assert results["fid"]["fid"] > 0 and 0 <= results["pr"]["precision"] <= 1
    assert 0 <= results["dc"]["coverage"] <= 1 and results["kid"]["subset_size"] == 200
    prov = results["fid"]["provenance"]
    assert prov["extractor"] == "pixel-stats" and prov["extractor_sha256"] == "0" * 64
    assert prov["generated_images"] == 200 and prov["real_images"] == 300
    assert prov["reference"] == "mnist:test" and len(prov["reference_sha256"]) == 64
    assert prov["genlab"] == genlab.__version__ and prov["seed"] == 0


def test_reference_features_are_computed_once_per_content(gan_run, cache, monkeypatch):
    model, config = load_run(gan_run)
    calls = []
    real_extract = features_module.extract
    monkeypatch.setattr(features_module, "extract", lambda *a, **k: (calls.append(len(a[1])), real_extract(*a, **k))[1])
    first = score(model, config, ["fid"], samples=100, reference_images=150, extractor=PixelStats())
    second = score(model, config, ["fid"], samples=100, reference_images=150, extractor=PixelStats())
    assert calls == [150] and first["fid"]["fid"] == second["fid"]["fid"]
    assert len(list((cache / "reference").glob("*.safetensors"))) == 1
    score(model, config, ["fid"], samples=100, reference_images=160, extractor=PixelStats())
    assert calls == [150, 160]  # other pixels, other cache entry


def test_a_damaged_reference_cache_is_recomputed(gan_run, cache):
    model, config = load_run(gan_run)
    first = score(model, config, ["fid"], samples=100, reference_images=120, extractor=PixelStats())
    (path,) = (cache / "reference").glob("*.safetensors")
    path.write_bytes(b"not a safetensors file")
    again = score(model, config, ["fid"], samples=100, reference_images=120, extractor=PixelStats())
    assert again["fid"]["fid"] == pytest.approx(first["fid"]["fid"])


def test_no_default_extractor_for_other_data_is_one_line():
    with pytest.raises(GenlabError, match="--inception-weights"):
        resolve_extractor(None, None, "folder:photos")


def _scored_copy(run, tmp_path, name, results):
    import shutil

    target = shutil.copytree(run, tmp_path / name)
    (target / "eval.json").write_text(json.dumps(results))
    return target


def test_compare_prints_one_row_per_run_and_keeps_extractors_apart(gan_run, tmp_path, capsys):
    def fid(value, extractor):
        return {"fid": {"fid": value, "provenance": {"extractor": extractor, "extractor_sha256": "ab" * 32}}}

    a = _scored_copy(gan_run, tmp_path, "a", {**fid(1.5, "digits"), "parzen": {"log_likelihood": 101.0, "stderr": 2.0}})
    b = _scored_copy(gan_run, tmp_path, "b", fid(2.5, "digits"))
    table = compare_runs([a, b])
    lines = table.splitlines()
    assert lines[0].startswith("| run | model | data | epochs | train s | log_likelihood | fid |")
    assert "| a | gan (nonsaturating) | mnist | 1 |" in lines[2] and "101 ± 2" in lines[2] and "| 1.5 |" in lines[2]
    assert lines[3].endswith("| 2.5 |") and "features: digits:abababab" in table
    rows = list(csv.reader(io.StringIO(compare_runs([a, b], "csv"))))
    assert rows[0][-1] == "fid" and rows[2][-1] == "2.5"
    assert rows[0][5:7] == ["log_likelihood", "log_likelihood ±"] and rows[1][5:7] == ["101", "2"]
    assert rows[2][5:7] == ["", ""]  # every CSV cell is a number or empty
    c = _scored_copy(gan_run, tmp_path, "c", fid(9.0, "inception-v3-fid"))
    header = compare_runs([a, c]).splitlines()[0]
    assert "fid [digits:abababab]" in header and "fid [inception-v3-fid:abababab]" in header
    code = main(["compare", str(a), str(tmp_path / "missing")])
    assert code == 2 and "does not exist" in capsys.readouterr().err


def test_compare_needs_a_scored_run(gan_run, capsys):
    code = main(["compare", str(gan_run)])
    assert code == 2 and "genlab eval" in capsys.readouterr().err


def test_evaluation_during_training_is_logged_and_keeps_resume_exact(tmp_path, cache, monkeypatch):
    import genlab.evaluation as evaluation

    monkeypatch.setattr(evaluation, "resolve_extractor", lambda spec, weights, data: PixelStats())
    extra = ["train.eval_every=1", "train.eval_metrics=fid,pr", "train.eval_samples=64", "train.epochs=2"]
    genlab.train("gan", preset="tiny", overrides=TINY_TRAIN + extra, out=tmp_path / "scored", **QUIET)
    genlab.train("gan", preset="tiny", overrides=TINY_TRAIN + ["train.epochs=2"], out=tmp_path / "plain", **QUIET)
    records = [json.loads(line) for line in (tmp_path / "scored" / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert len(epochs) == 2 and all({"eval/fid", "eval/precision", "eval/recall"} <= set(r) for r in epochs)
    scored, plain = load_run(tmp_path / "scored")[0], load_run(tmp_path / "plain")[0]
    for p, q in zip(scored.parameters(), plain.parameters()):
        assert torch.equal(p, q)  # scoring did not perturb the training's random streams


def test_bad_eval_metric_in_the_config_fails_before_training(tmp_path):
    with pytest.raises(GenlabError, match="unknown metric"):
        genlab.train(
            "gan",
            preset="tiny",
            overrides=TINY_TRAIN + ["train.eval_every=1", "train.eval_metrics=fdi"],
            out=tmp_path / "x",
            **QUIET,
        )
    assert not (tmp_path / "x").exists()


@pytest.mark.slow  # the digit network reads the 10,000 reference images
def test_eval_cli_scores_digit_metrics_offline(gan_run, cache, capsys, tmp_path):
    import shutil

    run = shutil.copytree(gan_run, tmp_path / "run")
    code = main(["eval", str(run), "--metrics", "fid,kid,is", "--samples", "200"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "FID" in out and "KID x 1000" in out and "classifier score" in out and "features: digits" in out
    saved = json.loads((run / "eval.json").read_text())
    assert saved["fid"]["provenance"]["extractor"] == DEFAULT_DIGIT_EXTRACTOR
    assert 1.0 <= saved["is"]["is"] <= 10.0


def test_another_extractor_adds_a_column_instead_of_replacing_the_default(gan_run, cache, tmp_path):
    import shutil

    run = shutil.copytree(gan_run, tmp_path / "run")
    evaluate(run, ["fid"], samples=100, reference_images=120)  # the digit network: the default on MNIST
    evaluate(run, ["fid", "kid"], samples=100, reference_images=120, extractor=PixelStats())
    saved = json.loads((run / "eval.json").read_text())
    assert set(saved) == {"fid", "fid@pixel-stats", "kid@pixel-stats"}
    assert saved["fid"]["provenance"]["extractor"] == DEFAULT_DIGIT_EXTRACTOR and not saved["fid"].get("stale")
    assert saved["fid@pixel-stats"]["fid"] != saved["fid"]["fid"]
    header = compare_runs([run]).splitlines()[0]
    assert f"fid [{DEFAULT_DIGIT_EXTRACTOR}:" in header and "fid [pixel-stats:00000000" in header
    assert "kid ×1000 |" in header


def test_a_score_of_the_old_default_extractor_moves_beside_the_new_one(tmp_path):
    from genlab.evaluation.scoring import merge_into

    path = tmp_path / "eval.json"
    old = {"fid": 3.0, "provenance": {"extractor": "digits", "weights_sha256": "w"}}
    path.write_text(json.dumps({"fid": old}))
    merge_into(path, {"fid": {"fid": 1.0, "provenance": {"extractor": "digits-v2", "weights_sha256": "w"}}}, "w")
    saved = json.loads(path.read_text())
    assert saved["fid@digits"] == old and saved["fid"]["fid"] == 1.0


def test_digit_data_is_scored_by_fid_and_swd_side_by_side(gan_run, cache, tmp_path):
    import copy
    import shutil

    from genlab.evaluation import default_metrics

    model, config = load_run(gan_run)
    assert {"fid", "swd"} <= set(default_metrics(model, config))
    for name, expected in (("folder:photos", ["swd"]), ("stackedmnist", ["modes", "swd"])):
        other = copy.deepcopy(config)
        other.data.name = name
        assert default_metrics(model, other) == expected
    run = shutil.copytree(gan_run, tmp_path / "run")
    results = evaluate(run, ["fid", "swd"], samples=60, reference_images=80, extractor=PixelStats())
    prov = results["swd"]["provenance"]
    assert prov["levels"] == [28, 14] and prov["projections"] == 512 and prov["generated_images"] == 60
    assert prov["real_images"] == 80 and prov["reference"] == "mnist:test" and prov["descriptors"] >= 2**16 - 80
    assert set(results["swd"]["swd_levels"]) == {"28", "14"} and results["swd"]["swd"] > 0
    header = compare_runs([run]).splitlines()[0]
    assert header.endswith("| fid | swd ×1000 |")  # compare: FID and SWD side by side


def test_a_diffusion_run_is_scored_by_the_chosen_sampler_beside_its_default(cache, tmp_path, capsys):
    run = tmp_path / "diffusion"
    genlab.train("diffusion", preset="tiny", overrides=TINY_TRAIN + ["train.eval_images=0"], out=run, **QUIET)
    sizes = {"samples": 60, "reference_images": 80, "extractor": PixelStats()}
    default = evaluate(run, ["fid"], **sizes)["fid"]
    chosen = evaluate(run, ["fid"], sampling={"sampler": "ddim", "steps": 2}, **sizes)["fid"]
    assert default["provenance"]["sampling"] == "heun, 3 steps, 5 network evaluations"
    assert chosen["provenance"]["sampling"] == "ddim, 2 steps, 2 network evaluations"
    saved = json.loads((run / "eval.json").read_text())
    assert set(saved) == {"fid@pixel-stats", "fid@pixel-stats@ddim-2"} and default["fid"] != chosen["fid"]
    assert compare_runs([run]).splitlines()[0].count("fid [pixel-stats") == 2  # a column per sampler
    code = main(["eval", str(run), "--reference", "mnist", "--sampler", "heun"])
    assert code == 2 and "--sampler: for a diffusion run folder" in capsys.readouterr().err


@pytest.mark.slow  # about a hundred denoiser passes with gradients per image
def test_a_diffusion_run_gives_its_ode_likelihood_in_bits_per_dim(tmp_path, capsys):
    run = tmp_path / "diffusion"
    genlab.train("diffusion", preset="tiny", overrides=TINY_TRAIN + ["train.eval_images=0"], out=run, **QUIET)
    first = evaluate(run, ["bpd"], images=3, batch_size=4)["bpd"]
    assert 0 < first["bits_per_dim"] < 16 and first["provenance"]["images"] == 3
    code = main(["eval", str(run), "--metrics", "bpd", "--images", "3", "--batch-size", "4", "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and json.loads(out)["bpd"]["bits_per_dim"] == first["bits_per_dim"], err  # seeded

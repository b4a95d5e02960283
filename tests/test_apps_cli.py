"""The genlab command: every verb works on a trained run; user mistakes are one line, exit 2."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from PIL import Image

from genlab.apps.cli import main
from genlab.apps.testing import run_cli


@pytest.fixture()
def run_copy(tiny_run, tmp_path):
    """A private copy of the tiny run, so tests may write into it."""
    return shutil.copytree(tiny_run, tmp_path / "run")


@pytest.mark.parametrize(
    "verb, extra",
    [
        ("sample", ["-n", "9", "--seed", "3"]),
        ("reconstruct", ["-n", "8"]),
        ("interpolate", ["--seeds", "0", "1", "--steps", "6", "--method", "lerp"]),
        ("traverse", ["--dims", "0,1", "--steps", "5"]),
    ],
)
def test_verbs_write_pngs(capsys, run_copy, tmp_path, verb, extra):
    target = tmp_path / f"{verb}.png"
    code, out, err = run_cli(capsys, verb, run_copy, *extra, "-o", target)
    assert code == 0, err
    assert "wrote" in out and Image.open(target).size[0] > 28
    code, _, err = run_cli(capsys, verb, run_copy, *extra, "-o", target)  # exists: refused
    assert code == 2 and "--force" in err and err.count("\n") == 1


def test_sample_is_reproducible_by_seed(capsys, run_copy, tmp_path):
    for name in ("a.png", "b.png"):
        assert run_cli(capsys, "sample", run_copy, "-n", "4", "--seed", "5", "-o", tmp_path / name)[0] == 0
    assert Image.open(tmp_path / "a.png").tobytes() == Image.open(tmp_path / "b.png").tobytes()


def test_interpolate_and_reconstruct_user_images(capsys, run_copy, tmp_path):
    paths = []
    for i, color in enumerate((0, 255)):
        paths.append(tmp_path / f"img{i}.png")
        Image.new("L", (40, 40), color).save(paths[-1])
    assert run_cli(capsys, "interpolate", run_copy, "--images", *paths, "-o", tmp_path / "i.png")[0] == 0
    assert run_cli(capsys, "reconstruct", run_copy, "--images", *paths, "-o", tmp_path / "r.png")[0] == 0
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    code, _, err = run_cli(capsys, "reconstruct", run_copy, "--images", bad, "-o", tmp_path / "x.png")
    assert code == 2 and "cannot read image" in err


def test_eval_prints_and_writes_json(capsys, run_copy):
    code, out, err = run_cli(capsys, "eval", run_copy, "--metrics", "elbo,nll", "-k", "20", "--images", "50")
    assert code == 0, err
    assert "NLL, k=20" in out and "active units" in out
    saved = json.loads((run_copy / "eval.json").read_text())
    assert saved["nll"]["k"] == 20 and saved["nll"]["provenance"]["images"] == 50
    assert saved["nll"]["nll"] <= saved["elbo"]["neg_elbo"] + 3 * saved["elbo"]["neg_elbo_stderr"]


def test_dry_run_prints_resolved_config(capsys, tmp_path):
    code, out, _ = run_cli(
        capsys, "train", "vae", "--preset", "quick", "--set", "model.latent_dim=2", "--out", tmp_path / "r", "--dry-run"
    )
    config = json.loads(out)
    assert code == 0 and config["model"]["latent_dim"] == 2 and config["model"]["image_size"] == 28
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "nosuchmodel", "--out", "X"], "unknown model 'nosuchmodel'"),
        (["train", "vae", "--data", "imagenet", "--out", "X"], "unknown dataset 'imagenet'"),
        (["train", "vae", "--data", "folder:/nonexistent/dir", "--out", "X"], "does not exist"),
        (["train", "vae", "--set", "model.size=3", "--out", "X"], "unknown config key 'model.size'"),
        (["train", "vae", "--set", "train.epochs=many", "--out", "X"], "train.epochs expects int"),
        (["train", "vae"], "--out"),
        (["sample", "/nonexistent/run"], "does not exist"),
        (["eval", "RUN", "--metrics", "fid9"], "unknown metric"),
    ],
)
def test_user_mistakes_are_one_line(capsys, argv, message, tiny_run, tmp_path):
    argv = [{"RUN": str(tiny_run), "X": str(tmp_path / "out")}.get(a, a) for a in argv]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_folder_that_is_not_a_run(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    code, _, err = run_cli(capsys, "sample", tmp_path)
    assert code == 2 and "is not a genlab run" in err


def test_checkpoint_of_another_model_is_refused(capsys, run_copy):
    config_path = run_copy / "checkpoint" / "config.json"
    config = json.loads(config_path.read_text())
    config["model_name"] = "autoencoder"
    config["model"].pop("beta"), config["model"].pop("kl_warmup_steps"), config["model"].pop("iw_samples")
    config_path.write_text(json.dumps(config))
    code, _, err = run_cli(capsys, "sample", run_copy, "-o", run_copy / "s.png")
    assert code == 2 and "config.json is corrupt" in err  # an edited file fails its checksum first
    from genlab.runs import write_checksums

    write_checksums(config_path.parent)  # a checkpoint recorded with another model's config
    code, _, err = run_cli(capsys, "sample", run_copy, "-o", run_copy / "s.png")
    assert code == 2 and "weights of model 'vae', not 'autoencoder'" in err


def test_autoencoder_has_no_nll(capsys, tmp_path):
    import genlab
    from genlab.testing import TINY

    genlab.train("autoencoder", overrides=TINY, out=tmp_path / "ae", echo=lambda s: None)
    code, _, err = run_cli(capsys, "eval", tmp_path / "ae", "--metrics", "nll")
    assert code == 2 and "cannot estimate an importance-sampled NLL" in err


@pytest.mark.parametrize(
    "verb", ["train", "sample", "reconstruct", "interpolate", "traverse", "eval", "translate", "adapt"]
)
def test_every_verb_has_help_with_an_example(verb, capsys):
    with pytest.raises(SystemExit) as info:
        main([verb, "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and "example" in out and f"genlab {verb}" in out


def test_traverse_draws_the_manifold_grid_for_two_latents(capsys, tmp_path):
    from genlab.runs import save_checkpoint
    from genlab.testing import tiny_model

    model, config = tiny_model("vae")
    config.model.latent_dim = 2
    model = type(model)(config.model)
    save_checkpoint(tmp_path / "run2d", model, config)
    code, _, err = run_cli(capsys, "traverse", tmp_path / "run2d", "--steps", "5", "-o", tmp_path / "m.png")
    assert code == 0 and Image.open(tmp_path / "m.png").size == (5 * 28, 5 * 28)


def test_resume_with_the_wrong_model_fails_before_training(capsys, run_copy):
    before = (run_copy / "metrics.jsonl").read_text()
    code, _, err = run_cli(capsys, "train", "gan", "--resume", "--out", run_copy)
    assert code == 2 and "is a 'vae' run, not 'gan'" in err
    assert (run_copy / "metrics.jsonl").read_text() == before


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.batch_size=0", "batch_size must be at least 1"),
        ("train.betas=0.5", "needs two values"),
        ("train.lr_schedule=linear", "lr_schedule must be"),
        ("model.widths=", "widths"),
    ],
)
def test_bad_values_fail_before_anything_is_written(capsys, tmp_path, override, message):
    code, _, err = run_cli(capsys, "train", "vae", "--set", override, "--set", "data.limit=64", "--out", tmp_path / "r")
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


@pytest.fixture(scope="module")
def conditional_vae_run(tmp_path_factory):
    """A class-conditional VAE (decoder p(x | z, y)) trained for one short epoch on 256 MNIST images."""
    import genlab
    from genlab.testing import TINY

    out = tmp_path_factory.mktemp("runs") / "cvae"
    genlab.train("vae", overrides=TINY + ["model.conditional=true"], out=out, echo=lambda s: None)
    return out


def test_conditional_vae_samples_by_label_and_scores_its_likelihood(capsys, conditional_vae_run, tmp_path):
    from genlab.evaluation import evaluate
    from genlab.runs import load_run
    from genlab.samplers import sample_images

    model, config = load_run(conditional_vae_run)
    assert config.model.num_classes == 10
    assert not torch.allclose(sample_images(model, 4, seed=0, label=1), sample_images(model, 4, seed=0, label=7))
    code, _, err = run_cli(capsys, "sample", conditional_vae_run, "--by-class", "-o", tmp_path / "grid.png")
    assert code == 0, err
    results = evaluate(conditional_vae_run, ["elbo", "nll"], k=4, images=32, write=False)
    assert results["nll"]["nll"] <= results["elbo"]["neg_elbo"] + 1.0  # an IW bound of log p(x | y)


@pytest.mark.parametrize(
    "verb, extra",
    [
        ("interpolate", ["--seeds", "0", "1", "--steps", "4"]),
        ("traverse", ["--dims", "0", "--steps", "4"]),
        ("reconstruct", ["-n", "4"]),
    ],
)
def test_latent_verbs_take_a_label_on_conditional_models(
    capsys, conditional_vae_run, tmp_path, verb, extra, monkeypatch
):
    from genlab.models.latent import LatentImageModel

    seen = []
    decode = LatentImageModel.decode
    monkeypatch.setattr(
        LatentImageModel, "decode", lambda self, z, labels=None: (seen.append(labels), decode(self, z, labels))[1]
    )
    code, _, err = run_cli(capsys, verb, conditional_vae_run, *extra, "--label", "3", "-o", tmp_path / "x.png")
    assert code == 0, err
    assert seen and all(labels is not None and bool((labels == 3).all()) for labels in seen)
    code, _, err = run_cli(capsys, verb, conditional_vae_run, *extra, "--label", "10", "-o", tmp_path / "y.png")
    assert code == 2 and "--label must be in 0..9" in err


def test_label_on_an_unconditional_model_is_one_line(capsys, run_copy, tmp_path):
    code, _, err = run_cli(capsys, "interpolate", run_copy, "--label", "3", "-o", tmp_path / "x.png")
    assert code == 2 and "class-conditional" in err and "Traceback" not in err


def test_every_option_of_every_verb_has_help():
    import argparse

    from genlab.apps.cli import build_parser

    verbs = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        (verb, action.option_strings or action.dest)
        for verb, parser in verbs.choices.items()
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert not missing

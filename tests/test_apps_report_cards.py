"""Model cards (issue 15): every checkpoint folder holds a README.md in the Hugging Face Hub's format, with a
picture, the scores of its weights and Python lines that load it; the card is documentation, never checksummed,
and a checkpoint folder copied anywhere loads and samples. Cards are the app layer's (genlab.apps.report.cards):
`genlab train` and genlab.train hand training the card callback, `genlab eval` rewrites the card; the core
(genlab.training.train, genlab.evaluation.evaluate) never writes one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image

import genlab
import genlab.evaluation
import genlab.training
from genlab.apps.cli import main
from genlab.apps.report.card_meta import model_index, yaml_string
from genlab.apps.report.cards import PLACEHOLDER, ModelCard, evaluate_with_card, write_model_card
from genlab.apps.testing import conditional_gan_run, cyclegan_run, toy_gan_run, vae_run
from genlab.runs import CARD, CARD_PICTURE, CHECKSUMS, complete, load_train_state, weights_identity
from genlab.samplers import sample_images
from genlab.testing.runs import QUIET

# run -> (pipeline_tag, datasets, some of its tags)
EXPECTED = {
    "vae": ("unconditional-image-generation", ["mnist"], ["vae"]),
    "cgan": ("unconditional-image-generation", ["mnist"], ["gan", "dcgan", "nonsaturating", "conditional"]),
    "cyclegan": ("image-to-image", ["A", "B"], ["cyclegan", "lsgan"]),
    "toy": ("unconditional-image-generation", ["toy2d-ring8"], ["gan", "mlp"]),
}
# run -> (the variable the card's Python lines make, its shape)
MADE = {
    "vae": ("images", (16, 1, 28, 28)),
    "cgan": ("images", (16, 1, 28, 28)),
    "cyclegan": ("translated", (4, 3, 32, 32)),
    "toy": ("points", (1000, 2)),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The four tiny trained runs of the studio tests (seconds each), not to be changed by the tests."""
    root = tmp_path_factory.mktemp("cards")
    return {
        "vae": vae_run(root),
        "cgan": conditional_gan_run(root),
        "cyclegan": cyclegan_run(root),
        "toy": toy_gan_run(root),
    }


def card(folder: Path) -> tuple[dict, str]:
    """The front matter (parsed) and the body of a checkpoint folder's model card."""
    _, header, body = (folder / CARD).read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(header), body


def run_card_code(folder: Path, where: Path | None = None) -> dict:
    """The names the card's Python lines define when run with the placeholder replaced by ``where``."""
    code = card(folder)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert PLACEHOLDER in code
    names: dict = {}
    exec(code.replace(PLACEHOLDER, str(where or folder)), names)
    return names


def copy_of(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / run.name))


@pytest.mark.parametrize("name", list(EXPECTED))
def test_a_trained_checkpoint_has_a_card_of_its_task(runs, name):
    """Front matter the Hub reads, a picture that decodes, the weights' identity, Python lines that work."""
    folder = runs[name] / "checkpoint"
    meta, body = card(folder)
    task, datasets, tags = EXPECTED[name]
    assert meta["library_name"] == "genlab" and meta["pipeline_tag"] == task and meta["license"] == "other"
    assert meta["datasets"] == datasets and {"genlab", *tags, *datasets} <= set(meta["tags"]), meta
    assert f"![samples]({CARD_PICTURE})" in body and "inherit the terms of their training data" in body
    with Image.open(folder / CARD_PICTURE) as picture:
        picture.load()
    assert min(picture.size) >= 100
    assert weights_identity(folder)["weights_sha256"] in body
    variable, shape = MADE[name]
    made = run_card_code(folder)[variable]
    assert made.shape == shape and torch.isfinite(made).all()
    if name != "toy":
        assert made.min() >= 0 and made.max() <= 1


def test_genlab_eval_puts_its_numbers_on_the_card(runs, tmp_path, capsys):
    """The core's evaluate writes eval.json only; the eval verb then rewrites the card with the numbers."""
    run = copy_of(runs["vae"], tmp_path)
    assert "No scores of these weights yet" in card(run / "checkpoint")[1]
    genlab.evaluation.evaluate(run, ["elbo"], images=50, device="cpu")
    assert "elbo" in json.loads((run / "eval.json").read_text()) and "No scores" in card(run / "checkpoint")[1]
    assert main(["eval", str(run), "--metrics", "elbo", "--images", "50", "--device", "cpu"]) == 0
    stored = json.loads((run / "eval.json").read_text())["elbo"]
    body = card(run / "checkpoint")[1]
    assert f"| -ELBO (nats) | {stored['neg_elbo']:.2f} ± {stored['neg_elbo_stderr']:.2f} |" in body
    assert f"| active units | {stored['active_units']} / 2 |" in body
    assert "50 images, test split, seed 0" in body and "No scores" not in body
    [index] = card(run / "checkpoint")[0]["model-index"]  # the same numbers, machine-readable
    assert index["name"] == run.name and index["results"] == [
        {
            "task": {"type": "unconditional-image-generation"},
            "dataset": {"type": "mnist", "name": "mnist", "split": "test"},
            "metrics": [{"type": "neg_elbo", "value": stored["neg_elbo"], "name": "elbo neg_elbo"}],
        }
    ]


def test_the_model_index_holds_the_headline_numbers_of_these_weights_only():
    """Per dataset and split; the feature network as the metric's config; stale and non-finite numbers left out."""
    of = {"weights_sha256": "these", "data": "mnist", "split": "test", "extractor": "digits-v2"}
    scores = {
        "fid": {"fid": 12.5, "provenance": of},
        "pr@inception": {"precision": 0.75, "recall": float("nan"), "provenance": {**of, "extractor": "inception"}},
        "kid": {"kid": 0.01, "provenance": {**of, "weights_sha256": "earlier"}},
        "parzen": {"log_likelihood": -3.0e-05, "provenance": {**of, "split": "valid"}},
        "unknown": {"x": 1.0, "provenance": of},
    }
    meta = yaml.safe_load("\n".join(["library_name: genlab", *model_index("m", "task", scores, "these", "mnist")]))
    [test, valid] = meta["model-index"][0]["results"]
    assert test["dataset"]["split"] == "test" and test["metrics"] == [
        {"type": "fid", "value": 12.5, "name": "fid (digits-v2)", "config": "digits-v2"},
        {"type": "precision", "value": 0.75, "name": "pr precision (inception)", "config": "inception"},
    ]
    assert valid["dataset"]["split"] == "valid" and valid["metrics"] == [
        {"type": "log_likelihood", "value": -3.0e-05, "name": "parzen log_likelihood"}
    ]
    assert model_index("m", "task", scores, "other weights", "mnist") == []


def test_scores_of_earlier_weights_are_not_shown_as_current(tmp_path):
    """Training on after genlab eval: the card names the old scores stale and shows none of their numbers."""
    run = toy_gan_run(tmp_path)
    evaluate_with_card(run, ["modes"], mode_samples=500, device="cpu")
    assert "| modes captured |" in card(run / "checkpoint")[1]
    genlab.train(out=run, resume=True, overrides=["train.epochs=2"], **QUIET)
    body = card(run / "checkpoint")[1]
    assert "| modes captured |" not in body and "No scores of these weights yet" in body
    assert "Left out as stale" in body and ": modes." in body


def test_card_files_are_not_checksummed(runs, tmp_path):
    """Rewriting or damaging the card never makes a checkpoint look corrupt."""
    folder = copy_of(runs["cgan"], tmp_path) / "checkpoint"
    sums = json.loads((folder / CHECKSUMS).read_text())
    assert CARD not in sums and CARD_PICTURE not in sums and "model.safetensors" in sums
    (folder / CARD).write_text("# my own notes\n")
    (folder / CARD_PICTURE).write_bytes(b"not a picture")
    assert complete(folder, verify=True)
    model = genlab.load(folder)
    assert sample_images(model, 2).shape == (2, 1, 28, 28) and load_train_state(folder)["loop"]["epoch"] == 2


def test_a_copied_checkpoint_folder_loads_samples_and_rewrites_its_card(runs, tmp_path):
    """Only checkpoint/, renamed, elsewhere: genlab.load reads it, the card's lines work with its new path."""
    copy = Path(shutil.copytree(runs["cgan"] / "checkpoint", tmp_path / "elsewhere" / "my-digits"))
    images = sample_images(genlab.load(str(copy)), 10, seed=1)
    assert images.shape == (10, 1, 28, 28)
    assert run_card_code(copy, copy)["images"].shape == (16, 1, 28, 28)
    write_model_card(copy)
    meta, body = card(copy)
    assert meta["pipeline_tag"] == "unconditional-image-generation" and "No scores of these weights yet" in body


def test_a_translator_card_is_rewritten_without_its_data(tmp_path):
    """A copied CycleGAN checkpoint whose domains are gone: the card keeps its translation picture."""
    run = cyclegan_run(tmp_path)
    copy = Path(shutil.copytree(run / "checkpoint", tmp_path / "copied"))
    shutil.rmtree(tmp_path / "domains")
    picture = (copy / CARD_PICTURE).read_bytes()
    write_model_card(copy)
    assert (copy / CARD_PICTURE).read_bytes() == picture and "earlier card" in card(copy)[1]
    assert run_card_code(copy)["translated"].shape == (4, 3, 32, 32)


def test_a_mid_epoch_checkpoint_keeps_the_card_and_the_end_of_training_renews_it(tmp_path):
    """Every save carries the last card (and its picture) forward; a run that stops mid-epoch then gets the card
    of the checkpoint it stopped at."""
    from genlab.runs import load_run, save_checkpoint

    run = toy_gan_run(tmp_path)  # one epoch of two steps
    step = weights_identity(run)["step"]
    genlab.train(
        out=run,
        resume=True,
        overrides=["train.epochs=2", f"train.max_steps={step + 1}", "train.checkpoint_every=1"],
        **QUIET,
    )
    assert weights_identity(run)["step"] == step + 1  # saved mid-epoch, after no epoch's end
    assert weights_identity(run)["weights_sha256"][:8] in (run / "checkpoint" / CARD).read_text()
    before = {name: (run / "checkpoint" / name).read_bytes() for name in (CARD, CARD_PICTURE)}
    save_checkpoint(run, *load_run(run))  # a save with no epoch's end after it
    assert {name: (run / "checkpoint" / name).read_bytes() for name in before} == before
    assert complete(run / "checkpoint", verify=True)


def test_drawing_the_card_leaves_training_alone(runs):
    """The picture comes from seeded CPU generators in eval mode: the model's mode and the global RNG stay."""
    model = genlab.load(str(runs["cgan"])).train()
    before = torch.random.get_rng_state()
    write_model_card(runs["cgan"], model)
    assert model.training and torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.parametrize(
    "text", ["mnist", "toy2d-ring8", "A", "yes", "null", "3", "a: b", "#x", "my photos", "ünï", "-x", 'say "hi"']
)
def test_names_in_the_front_matter_read_back_as_written(text):
    assert yaml.safe_load(f"- {yaml_string(text)}") == [text]


def test_a_run_stopped_inside_its_first_epoch_has_the_card_of_its_checkpoint(tmp_path):
    import genlab
    from genlab.runs import CARD, checkpoint_dir, weights_identity

    out = tmp_path / "short"
    genlab.train(
        "vae",
        overrides=[
            "model.widths=8,16",
            "model.hidden=32",
            "model.latent_dim=2",
            "data.limit=256",
            "train.batch_size=64",
            "train.max_steps=2",
        ],
        out=out,
        echo=lambda s: None,
    )
    card = (checkpoint_dir(out) / CARD).read_text()
    assert weights_identity(out)["weights_sha256"][:8] in card and "step 2" in card


def test_a_card_that_cannot_be_written_is_a_warning_not_the_end_of_training(tmp_path, monkeypatch):
    import genlab.apps.report.cards as cards

    def refuse(*args, **kwargs):
        raise OSError("read-only file system")

    monkeypatch.setattr(cards, "write_model_card", refuse)
    lines = []
    genlab.train(
        "vae",
        overrides=[
            "model.widths=8,16",
            "model.hidden=32",
            "model.latent_dim=2",
            "data.limit=256",
            "train.batch_size=64",
            "train.epochs=1",
        ],
        out=tmp_path / "ro",
        echo=lines.append,
    )
    assert any("model card" in line and "read-only file system" in line for line in lines)
    assert (tmp_path / "ro" / "checkpoint" / "model.safetensors").is_file()


SHORT_VAE = [
    "model.widths=8,16",
    "model.hidden=32",
    "model.latent_dim=2",
    "data.limit=256",
    "train.batch_size=64",
    "train.epochs=1",
]


def test_the_app_layer_hands_training_the_card_and_the_core_writes_none(tmp_path, capsys):
    """genlab train writes the card; genlab.training.train alone does not, and does with the card callback as an
    extra callback (the defaults still run: pictures, the loss curve)."""
    assert main(["train", "vae", *(f"--set={o}" for o in SHORT_VAE), "--out", str(tmp_path / "cli")]) == 0
    written = (tmp_path / "cli" / "checkpoint" / CARD).read_text()
    assert weights_identity(tmp_path / "cli")["weights_sha256"][:8] in written
    genlab.training.train("vae", overrides=SHORT_VAE, out=tmp_path / "core", **QUIET)
    assert not (tmp_path / "core" / "checkpoint" / CARD).exists() and (tmp_path / "core" / "loss_curve.svg").is_file()
    genlab.training.train("vae", overrides=SHORT_VAE, out=tmp_path / "extra", extra_callbacks=[ModelCard()], **QUIET)
    assert (tmp_path / "extra" / "checkpoint" / CARD).is_file() and (tmp_path / "extra" / "loss_curve.svg").is_file()

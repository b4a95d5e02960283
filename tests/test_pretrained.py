"""genlab.load of every folder genlab writes, model.save_pretrained / genlab.from_pretrained in the Hugging Face
Hub's layout (genlab.pretrained; the card by genlab.apps.api.save_pretrained), Hub ids through huggingface_hub
(simulated: it is optional, and the machine may be offline) and the `genlab save-pretrained` verb."""

from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import pytest
import torch
import yaml

import genlab
from genlab.apps.cli import main
from genlab.apps.testing import run_cli
from genlab.errors import GenlabError
from genlab.runs import CHECKSUMS, complete, weights_identity
from genlab.samplers import sample_images
from genlab.testing import tiny_model

pytestmark = pytest.mark.usefixtures("one_thread")
SAVED = {"config.json", "model.safetensors", "checksums.json", "README.md", "samples.png"}


def seeded(model) -> torch.Tensor:
    """Eight samples drawn with a fixed seed."""
    return model.sample(8, generator=torch.Generator().manual_seed(0))


def front_matter(folder: Path) -> dict:
    """The YAML front matter of a folder's model card, parsed."""
    return yaml.safe_load((folder / "README.md").read_text(encoding="utf-8").split("---\n", 2)[1])


@pytest.fixture(scope="module")
def scored_run(tiny_run, tmp_path_factory):
    """A copy of the tiny VAE run with an -ELBO of its weights in eval.json (scored by the eval verb)."""
    run = Path(shutil.copytree(tiny_run, tmp_path_factory.mktemp("pretrained") / "vae"))
    assert main(["eval", str(run), "--metrics", "elbo", "--images", "50", "--device", "cpu"]) == 0
    return run


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    """A copy of the tiny VAE run with its ONNX graphs in RUN/export/onnx, where genlab export puts them."""
    pytest.importorskip("onnxruntime")
    from genlab.export import export_onnx

    run = Path(shutil.copytree(tiny_run, tmp_path_factory.mktemp("exported") / "vae"))
    export_onnx(run)
    return run


def fake_hub(monkeypatch, snapshot_download) -> None:
    """huggingface_hub as a module whose snapshot_download is ``snapshot_download``."""
    hub = types.ModuleType("huggingface_hub")
    hub.snapshot_download = snapshot_download
    monkeypatch.setitem(sys.modules, "huggingface_hub", hub)


def test_save_pretrained_round_trips_the_model(scored_run, tmp_path):
    """The Hub's layout with the run's config, checksummed as a checkpoint; loaded back, the same samples."""
    model = genlab.load(scored_run)
    before = seeded(model)
    folder = model.save_pretrained(tmp_path / "vae-mnist")
    assert {f.name for f in folder.iterdir()} == SAVED | {"eval.json"}
    saved = json.loads((folder / "config.json").read_text())
    assert saved == json.loads((scored_run / "checkpoint" / "config.json").read_text())
    assert set(json.loads((folder / CHECKSUMS).read_text())) == {"config.json", "model.safetensors"}
    assert complete(folder, verify=True)
    loaded = genlab.from_pretrained(folder)
    assert torch.equal(seeded(loaded), before)
    assert torch.equal(sample_images(loaded, 4, seed=1), sample_images(model, 4, seed=1))
    assert loaded.run_dir == folder and loaded.run_config.to_dict() == model.run_config.to_dict()
    assert main(["verify", str(folder)]) == 0  # eval.json is genlab eval's to rewrite, never checked


def test_the_scores_of_these_weights_travel_as_a_model_index(scored_run, tmp_path):
    """The very weights file that was scored, its eval.json entries, and the card's machine-readable scores."""
    folder = genlab.load(scored_run).save_pretrained(tmp_path / "vae-mnist")
    stored = json.loads((scored_run / "eval.json").read_text())["elbo"]
    assert weights_identity(folder)["weights_sha256"] == weights_identity(scored_run)["weights_sha256"]
    assert json.loads((folder / "eval.json").read_text()) == {"elbo": stored}
    meta = front_matter(folder)
    assert meta["library_name"] == "genlab" and "vae" in meta["tags"] and meta["datasets"] == ["mnist"]
    [entry] = meta["model-index"]
    assert entry["name"] == "vae-mnist"
    [result] = entry["results"]
    assert result["task"] == {"type": "unconditional-image-generation"}
    assert result["dataset"] == {"type": "mnist", "name": "mnist", "split": "test"}
    assert result["metrics"] == [{"type": "neg_elbo", "value": stored["neg_elbo"], "name": "elbo neg_elbo"}]
    again = genlab.from_pretrained(folder).save_pretrained(tmp_path / "again")  # the scores stay with the weights
    assert front_matter(again)["model-index"][0]["results"] == [result]


def test_weights_changed_since_they_were_scored_are_saved_without_the_scores(scored_run, tmp_path):
    model = genlab.load(scored_run)
    with torch.no_grad():
        next(model.parameters()).add_(0.01)
    folder = model.save_pretrained(tmp_path / "tuned")
    assert not (folder / "eval.json").exists() and "model-index" not in front_matter(folder)
    assert weights_identity(folder)["weights_sha256"] != weights_identity(scored_run)["weights_sha256"]
    assert torch.equal(seeded(genlab.from_pretrained(folder)), seeded(model))


def test_save_pretrained_writes_over_its_own_folders_only(tiny_run, tmp_path):
    """Saved again over itself; another folder only with force (its files kept); never a run or checkpoint."""
    model = genlab.load(tiny_run)
    folder = model.save_pretrained(tmp_path / "out")
    genlab.from_pretrained(folder).save_pretrained(folder)
    assert complete(folder, verify=True) and torch.equal(seeded(genlab.load(folder)), seeded(model))
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine")
    with pytest.raises(GenlabError, match="not empty and not a save_pretrained folder.*force=True"):
        model.save_pretrained(notes)
    model.save_pretrained(notes, force=True)
    assert (notes / "todo.txt").read_text() == "mine" and torch.equal(seeded(genlab.load(notes)), seeded(model))
    for target in (tiny_run, tiny_run / "checkpoint"):
        with pytest.raises(GenlabError, match="is a training run or checkpoint"):
            model.save_pretrained(target, force=True)
    with pytest.raises(GenlabError, match="is a file"):
        model.save_pretrained(notes / "todo.txt")


def test_a_model_built_in_code_is_saved_with_the_default_data_and_training(tmp_path):
    model, _ = tiny_model("vae")
    model.eval()
    loaded = genlab.from_pretrained(model.save_pretrained(tmp_path / "code"))
    assert loaded.run_config.model_name == "vae" and torch.equal(seeded(loaded), seeded(model))


def test_load_reads_runs_checkpoints_and_save_pretrained_folders(tiny_run, tmp_path):
    expected = seeded(genlab.load(tiny_run))
    copied = Path(shutil.copytree(tiny_run / "checkpoint", tmp_path / "copied"))
    saved = genlab.load(tiny_run).save_pretrained(tmp_path / "saved")
    for folder in (tiny_run, tiny_run / "checkpoint", copied, saved):
        model = genlab.load(str(folder))
        assert torch.equal(seeded(model), expected) and model.run_dir == folder and not model.training


def test_an_export_without_weights_says_what_it_holds_and_what_to_pass(exported, tmp_path):
    folder = exported / "export" / "onnx"
    with pytest.raises(GenlabError) as info:
        genlab.load(folder)
    line = str(info.value)
    assert "\n" not in line and "is an ONNX export of a 'vae' model (decoder.onnx, encoder.onnx" in line
    assert f"load the run it was exported from instead ({exported.resolve()})" in line
    moved = Path(shutil.copytree(folder, tmp_path / "onnx"))
    for path in (moved, moved / "decoder.onnx"):
        with pytest.raises(GenlabError, match=r"without its PyTorch weights: load the run folder it was exported from"):
            genlab.load(path)


def test_an_export_with_its_weights_loads(exported, tmp_path):
    """The graphs beside the weights their manifest names: the model, rebuilt from the manifest's config."""
    folder = Path(shutil.copytree(exported / "export" / "onnx", tmp_path / "onnx"))
    shutil.copyfile(exported / "checkpoint" / "model.safetensors", folder / "model.safetensors")
    model = genlab.load(folder)
    assert torch.equal(seeded(model), seeded(genlab.load(exported)))
    assert model.run_config.to_dict()["model"] == genlab.load(exported).run_config.to_dict()["model"]
    saved = model.save_pretrained(tmp_path / "saved")  # and on into the Hub's layout
    assert torch.equal(seeded(genlab.from_pretrained(saved)), seeded(model))


def test_unknown_and_missing_folders_are_one_line(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.png").write_bytes(b"")
    with pytest.raises(GenlabError, match=r"photos is no genlab model folder: genlab.load takes a run folder"):
        genlab.load(tmp_path / "photos")
    for load in (genlab.load, genlab.from_pretrained):  # an absolute path is never taken for a Hub id
        with pytest.raises(GenlabError, match=r"missing does not exist; genlab.load takes"):
            load(tmp_path / "missing")


def test_a_hub_id_without_huggingface_hub_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import huggingface_hub raises ImportError
    with pytest.raises(GenlabError) as info:
        genlab.from_pretrained("someone/tiny-vae")
    assert str(info.value) == (
        "someone/tiny-vae is no local folder, and downloading it as a Hugging Face Hub model id needs "
        "huggingface_hub: pip install 'genlab[hub]'"
    )


class LocalEntryNotFoundError(Exception):
    """What huggingface_hub raises offline when the files are not in its cache."""


class RepositoryNotFoundError(Exception):
    """What huggingface_hub raises for a repository it cannot find (or may not read)."""


@pytest.mark.parametrize(
    "error, said",
    [
        (
            LocalEntryNotFoundError("cannot find the requested files in the local cache.\nCheck your connection."),
            "could not download someone/tiny-vae from the Hugging Face Hub (offline? LocalEntryNotFoundError: "
            "cannot find the requested files in the local cache.); pass a local folder",
        ),
        (
            RepositoryNotFoundError("404 Client Error.\n\nRepository Not Found for url"),
            "the Hugging Face Hub has no model someone/tiny-vae that can be read here (RepositoryNotFoundError: 404",
        ),
    ],
    ids=["offline", "no-such-model"],
)
def test_a_failed_hub_download_is_one_line(monkeypatch, error, said):
    def snapshot_download(repo_id, **options):
        raise error

    fake_hub(monkeypatch, snapshot_download)
    with pytest.raises(GenlabError) as info:
        genlab.from_pretrained("someone/tiny-vae")
    assert said in str(info.value) and "\n" not in str(info.value)


def test_a_hub_id_loads_the_downloaded_folder_and_a_local_path_wins(tiny_run, tmp_path, monkeypatch):
    model = genlab.load(tiny_run)
    folder = model.save_pretrained(tmp_path / "download")
    asked = {}

    def snapshot_download(repo_id, **options):
        asked.update(options, repo_id=repo_id)
        return str(folder)

    fake_hub(monkeypatch, snapshot_download)
    loaded = genlab.from_pretrained("someone/tiny-vae", revision="v1")
    assert torch.equal(seeded(loaded), seeded(model)) and loaded.run_dir == folder
    assert asked["repo_id"] == "someone/tiny-vae" and asked["revision"] == "v1"
    assert {"config.json", "model.safetensors", CHECKSUMS} <= set(asked["allow_patterns"])
    model.save_pretrained(tmp_path / "someone" / "local")
    monkeypatch.chdir(tmp_path)
    asked.clear()
    assert torch.equal(seeded(genlab.from_pretrained("someone/local")), seeded(model)) and not asked


def test_the_save_pretrained_verb(tiny_run, tmp_path, capsys):
    code, out, _ = run_cli(capsys, "save-pretrained", tiny_run, tmp_path / "cli")
    assert code == 0 and out.startswith(f"wrote {tmp_path / 'cli'}: config.json, model.safetensors")
    assert {f.name for f in (tmp_path / "cli").iterdir()} == SAVED
    assert torch.equal(seeded(genlab.from_pretrained(tmp_path / "cli")), seeded(genlab.load(tiny_run)))
    code, _, err = run_cli(capsys, "save-pretrained", tiny_run, tiny_run)
    assert code == 2 and "is a training run or checkpoint" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "save-pretrained", tmp_path / "nothing", tmp_path / "out")
    assert code == 2 and "does not exist" in err and err.count("\n") == 1

"""Domain adaptation: class labels through unpaired data, npz datasets, genlab adapt, translation metrics."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from torch import nn

import genlab
from genlab.apps.adapt import adapt, classifier_size, translator_direction, translator_groups
from genlab.apps.compare import compare_runs
from genlab.apps.report.adaptation import format_table as adapt_table
from genlab.apps.testing import run_cli
from genlab.data import ImageData, load_dataset, load_domains
from genlab.data.arrays import save_arrays
from genlab.errors import GenlabError
from genlab.evaluation import default_metrics, evaluate, format_table, score
from genlab.runs import load_config, load_run
from genlab.testing import PixelStats

pytestmark = pytest.mark.usefixtures("one_thread")
QUIET = {"echo": lambda s: None}
CLASSES = ("0", "1", "2")
TINY_CLASSIFIER = ["train.epochs=1", "train.batch_size=8", "train.eval_images=8", "model.shift=0"]
CYCLEGAN = [
    "model.image_size=16",
    "model.pool_size=2",
    "train.batch_size=4",
    "train.epochs=1",
    "train.max_steps=3",
    "data.test_fraction=0.25",
    "train.eval_images=8",
    "train.grid_size=4",
]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))


def draw_shape(draw: ImageDraw.ImageDraw, label: int, i: int, fill) -> None:
    """Digit-like strokes: 0 a ring, 1 a vertical bar, 2 a horizontal bar; i shifts them by a pixel or two."""
    d = i % 3
    if label == 0:
        draw.ellipse([4 + d, 3, 14 + d, 16], outline=fill, width=2)
    elif label == 1:
        draw.rectangle([8 + d, 2, 10 + d, 17], fill=fill)
    else:
        draw.rectangle([3, 8 + d, 16, 10 + d], fill=fill)


def write_domain(root, style: str, per_class: int = 8):
    """A labelled folder (one subfolder per class) of 20-px images: "gray" white strokes on black, or
    "color" dark strokes on a coloured background that changes per image (a little like MNIST-M)."""
    for label, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            if style == "gray":
                image = Image.new("L", (20, 20), 0)
                draw_shape(ImageDraw.Draw(image), label, i, 200 + 5 * i)
            else:
                image = Image.new("RGB", (20, 20), (120 + 15 * i, 200 - 10 * i, 60 + 20 * label))
                draw_shape(ImageDraw.Draw(image), label, i, (20, 30, 10 * i))
            image.save(root / name / f"{name}_{i}.png")
    return root


@pytest.fixture(scope="module")
def domains(tmp_path_factory):
    root = tmp_path_factory.mktemp("domains")
    return write_domain(root / "src", "gray"), write_domain(root / "tgt", "color", per_class=5)


@pytest.fixture(scope="module")
def translator(domains, tmp_path_factory):
    """A tiny CycleGAN trained for 3 steps on the two folders (A = source, B = target)."""
    out = tmp_path_factory.mktemp("runs") / "cyclegan"
    genlab.train(
        "cyclegan", data=f"unpaired:{domains[0]},{domains[1]}", preset="tiny", overrides=CYCLEGAN, out=out, **QUIET
    )
    return out


# -- A. class labels through unpaired data -----------------------------------------------------------
def test_unpaired_data_keeps_each_images_class(domains, tmp_path):
    spec = f"unpaired:{domains[0]},{domains[1]}"
    data = load_dataset(spec, "train", image_size=16, test_fraction=0.0)
    a, b = load_domains(spec.split(":", 1)[1], "train", image_size=16, test_fraction=0.0)
    assert (len(a), len(b)) == (24, 15) and len(data) == 48  # B repeated to A's size, interleaved
    assert data.labels[:4].tolist() == [0, 1, 0, 1] and data.class_names == list(CLASSES)
    for domain, side in ((0, a), (1, b)):  # every image of the mix carries the class it has in its domain
        lookup = {bytes(img.numpy().tobytes()): int(y) for img, y in zip(side.images, side.labels)}
        mine = data.labels == domain
        assert [lookup[bytes(img.numpy().tobytes())] for img in data.images[mine]] == data.class_labels[mine].tolist()
    head = data.head(5).to("cpu")
    assert torch.equal(head.class_labels, data.class_labels[:5]) and head.class_names == data.class_names
    assert torch.equal(data.binarized(0).class_labels, data.class_labels)
    other = write_domain(tmp_path / "letters", "gray", per_class=1)
    (other / "0").rename(other / "x")
    mixed = load_dataset(f"unpaired:{domains[0]},{other}", "train", image_size=16, test_fraction=0.0)
    assert mixed.class_names == ["0", "1", "2", "x"]  # B's new class names follow A's
    assert set(mixed.class_labels[mixed.labels == 1].tolist()) == {1, 2, 3}


# -- npz datasets ----------------------------------------------------------------------------------
def test_npz_datasets_round_trip_and_explain_bad_files(tmp_path):
    images = torch.randint(0, 256, (10, 1, 8, 8), dtype=torch.uint8)
    data = ImageData(images, torch.arange(10) % 3, list("abc"), "x")
    path = save_arrays(tmp_path / "set.npz", {"train": data, "test": data.head(4)}, list("abc"))
    train = load_dataset(f"npz:{path}", "train")
    assert torch.equal(train.images, images) and train.labels.tolist() == data.labels.tolist()
    assert train.classes == ["a", "b", "c"] and len(load_dataset(f"npz:{path}", "test")) == 4
    assert load_dataset(f"npz:{path}", "test", channels=3, image_size=16).images.shape == (4, 3, 16, 16)
    only_train = save_arrays(tmp_path / "train.npz", {"train": data}, list("abc"))
    held = [load_dataset(f"npz:{only_train}", s, test_fraction=0.3) for s in ("train", "test")]
    assert [len(d) for d in held] == [7, 3]  # a file without a test split holds one out, like a folder
    np.savez(tmp_path / "bad.npz", train_images=np.zeros((2, 8, 8), np.float32), train_labels=np.zeros(2, int))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    for name, message in (
        (f"npz:{tmp_path}/bad.npz", "must be uint8"),
        (f"npz:{tmp_path}/junk.npz", "cannot read"),
        (f"npz:{tmp_path}/none.npz", "does not exist"),
    ):
        with pytest.raises(GenlabError, match=message):
            load_dataset(name)
    with pytest.raises(GenlabError, match="no 'valid' split"):
        load_dataset(f"npz:{path}", "valid")


# -- B. genlab adapt ------------------------------------------------------------------------------
def test_adapt_without_a_translator_trains_two_rows(domains, tmp_path):
    report = adapt(
        str(domains[0]),
        str(domains[1]),
        seeds=2,
        preset="tiny",
        overrides=TINY_CLASSIFIER,
        out=tmp_path / "adapt",
        image_size=16,
        **QUIET,
    )
    assert set(report["rows"]) == {"source_only", "target"} and report["translators"] == {}
    for row in report["rows"].values():
        assert len(row["accuracy"]) == 2 and all(0 <= a <= 1 for a in row["accuracy"])
        assert row["std"] == pytest.approx(float(np.std(row["accuracy"], ddof=1)))
    assert "no --translator" in adapt_table(report) and "DANN" not in adapt_table(report)
    held_out = len(load_dataset(f"folder:{domains[1]}", "test"))  # the target folder's held-out split
    assert report["test_images"] == report["rows"]["source_only"]["test_images"] == held_out
    saved = json.loads((tmp_path / "adapt" / "adapt.json").read_text())
    assert saved["rows"]["target"]["runs"][1].endswith("target_seed1") and saved["genlab"] == genlab.__version__
    assert saved["classifier"]["channels"] == 3  # the target's channels; the gray source is expanded
    assert load_run(tmp_path / "adapt" / "source_only_seed0")[1].model.channels == 3


def test_adapt_with_a_translator_writes_a_reusable_translated_set(domains, translator, tmp_path, capsys):
    out = tmp_path / "adapt"
    code, table, err = run_cli(
        capsys,
        "adapt",
        "--source",
        domains[0],
        "--target",
        domains[1],
        "--translator",
        translator,
        "--seeds",
        1,
        "--preset",
        "tiny",
        *sum((["--set", s] for s in TINY_CLASSIFIER), []),
        "--out",
        out,
    )
    assert code == 0, err
    assert "\n| classifier trained on | accuracy on folder:" in table and "| translated folder:" in table
    assert "(cyclegan a2b of " in table
    report = json.loads((out / "adapt.json").read_text())
    assert list(report["rows"]) == ["source_only", "translated", "target"]
    made = report["translators"]["translated"]
    assert made["direction"] == "a2b" and made["data"].startswith("unpaired:") and made["model"] == "cyclegan"
    assert report["classifier"]["image_size"] == 16  # the translator's size
    translated = load_dataset(made["dataset"], "train")
    source = load_dataset(f"folder:{domains[0]}", "train", image_size=16, channels=3)
    assert translated.images.shape == source.images.shape and torch.equal(translated.labels, source.labels)
    assert not torch.equal(translated.images, source.images) and translated.classes == list(CLASSES)
    assert len(load_dataset(made["dataset"], "test")) == made["test_images"]
    code, _, err = run_cli(capsys, "adapt", "--source", domains[0], "--target", domains[1], "--out", out)
    assert code == 2 and "--force" in err and err.count("\n") == 1


def test_adapt_gives_each_translator_its_own_row(domains, translator, tmp_path):
    """A refiner and a CycleGAN side by side: two translated sets, two rows, one table."""
    refiner = tmp_path / "refiner"
    genlab.train(
        "refiner",
        data=f"unpaired:{domains[0]},{domains[1]}",
        preset="tiny",
        out=refiner,
        **QUIET,
        overrides=[
            "model.image_size=16",
            "train.batch_size=4",
            "train.epochs=1",
            "train.max_steps=2",
            "data.test_fraction=0.25",
            "train.eval_images=8",
            "train.grid_size=4",
        ],
    )
    report = adapt(
        str(domains[0]),
        str(domains[1]),
        translators=[refiner, translator],
        seeds=1,
        preset="tiny",
        overrides=TINY_CLASSIFIER,
        out=tmp_path / "adapt",
        **QUIET,
    )
    assert list(report["rows"]) == ["source_only", "translated", "translated_2", "target"]
    made = report["translators"]
    assert [made[r]["model"] for r in ("translated", "translated_2")] == ["refiner", "cyclegan"]
    sets = [load_dataset(made[r]["dataset"], "train") for r in made]
    assert sets[0].images.shape == sets[1].images.shape and not torch.equal(sets[0].images, sets[1].images)
    assert (tmp_path / "adapt" / "translated_2.npz").is_file() and (tmp_path / "adapt" / "translated_2_seed0").is_dir()
    lines = adapt_table(report).splitlines()
    assert "(refiner a2b of " in lines[3] and "(cyclegan a2b of " in lines[4] and lines[5].startswith("| train on")


def test_mnist_to_mnistm_table_stands_beside_the_dann_numbers():
    row = {"mean": 0.61234, "std": 0.01}
    report = {
        "rows": {"source_only": row, "translated": row, "target": row},
        "translators": {"translated": {"model": "cyclegan", "direction": "a2b", "run": "runs/m2mm"}},
        "source": "mnist",
        "target": "mnistm",
        "seeds": [0, 1, 2],
        "test_images": 10000,
        "test": "mnistm:test",
        "classifier": {"image_size": 28, "channels": 3},
    }
    lines = adapt_table(report).splitlines()
    assert lines[0] == "| classifier trained on | accuracy on mnistm test | DANN paper, MNIST→MNIST-M |"
    assert lines[2] == "| source only (mnist) | 0.6123 ± 0.0100 | 0.5225 |"
    assert lines[3] == "| translated mnist -> mnistm (cyclegan a2b of runs/m2mm) | 0.6123 ± 0.0100 | 0.7666 (DANN) |"
    assert lines[4].endswith("| 0.9596 |")
    assert "other photos" in lines[-1] and "3 seed(s) 0, 1, 2; 10000 mnistm:test images" in lines[6]


def test_a_diffusion_model_of_the_target_adapts_by_sdedit(domains, tmp_path):
    """SDEdit (Meng et al. 2022) as a translated row: one way into the data the diffusion model learnt."""
    model = tmp_path / "diffusion"
    settings = ["model.image_size=16", "train.batch_size=4", "train.max_steps=2", "train.eval_images=0"]
    genlab.train("diffusion", data=f"folder:{domains[1]}", preset="tiny", overrides=settings, out=model, **QUIET)
    src, tgt = (f"folder:{d}" for d in domains)
    assert translator_direction(model, src, tgt)[1] == "a2b"
    with pytest.raises(GenlabError, match="needs one trained on the target"):
        translator_direction(model, tgt, src)
    out = tmp_path / "adapt"
    overrides = TINY_CLASSIFIER + ["train.max_steps=1"]
    report = adapt(
        src, tgt, translators=model, seeds=1, preset="tiny", overrides=overrides, out=out, strength=0.4, **QUIET
    )
    made = report["translators"]["translated"]
    assert made["model"] == "diffusion" and made["strength"] == 0.4 and made["direction"] == "a2b"
    translated = load_dataset(made["dataset"], "train")
    source = load_dataset(src, "train", image_size=16, channels=3)
    assert translated.images.shape == source.images.shape and torch.equal(translated.labels, source.labels)
    assert not torch.equal(translated.images, source.images)
    with pytest.raises(GenlabError, match=r"--strength must be in \(0, 1\]"):
        adapt(src, tgt, translators=model, seeds=1, preset="tiny", out=tmp_path / "never", strength=0.0, **QUIET)


def test_translator_direction_comes_from_its_data(domains, translator, tmp_path):
    src, tgt = (f"folder:{d}" for d in domains)
    assert translator_direction(translator, src, tgt)[1] == "a2b"
    assert translator_direction(translator, tgt, src)[1] == "b2a"  # F maps B (here the source) to A


def test_adapt_mistakes_are_one_line(domains, translator, tmp_path, capsys):
    unlabelled = tmp_path / "flat"
    unlabelled.mkdir()
    for i in range(4):
        Image.new("RGB", (20, 20), (i * 40, 0, 0)).save(unlabelled / f"{i}.png")
    classifier = tmp_path / "classifier"
    genlab.train(
        "classifier",
        data=f"folder:{domains[0]}",
        preset="tiny",
        overrides=TINY_CLASSIFIER + ["model.image_size=16", "train.max_steps=1"],
        out=classifier,
        **QUIET,
    )
    other = write_domain(tmp_path / "other", "color", per_class=2)
    base = ["adapt", "--source", domains[0], "--preset", "tiny"]
    for argv, message in (
        ([*base, "--target", unlabelled], "has no class labels (a folder needs one subfolder per class)"),
        ([*base, "--target", f"unpaired:{domains[0]},{domains[1]}"], "labelled by domain"),
        ([*base, "--target", domains[1], "--translator", classifier], "is a 'classifier' run"),
        ([*base, "--target", other, "--translator", translator], "not folder:"),
        ([*base, "--target", domains[1], "--set", "model.widht=3"], "unknown config key"),
        ([*base, "--target", domains[1], "--seeds", 0], "--seeds must be at least 1"),
    ):
        code, _, err = run_cli(capsys, *argv, "--out", tmp_path / "never")
        errors = [line for line in err.splitlines() if line.startswith("genlab: error")]  # info lines may precede
        assert code == 2 and len(errors) == 1 and message in errors[0] and "Traceback" not in err
    assert not (tmp_path / "never").exists()


# -- C. translation quality in genlab eval ---------------------------------------------------------
def test_translation_metrics_are_finite_with_provenance(translator, tmp_path):
    model, config = load_run(translator)
    assert default_metrics(model, config) == ["cycle"]  # folders: FID/KID need a named extractor
    metrics = ["fid_a2b", "fid_b2a", "kid_a2b", "kid_b2a", "cycle"]
    results = score(model, config, metrics, extractor=PixelStats(), split="train", reference_split="train")
    a_dir, b_dir = config.data.name.split(":", 1)[1].split(",")
    a, b = load_domains(f"{a_dir},{b_dir}", "train", image_size=16, channels=3, test_fraction=0.25)
    for name in metrics[:4]:
        assert math.isfinite(results[name][name]) and results[name]["provenance"]["extractor"] == "pixel-stats"
    prov = results["fid_a2b"]["provenance"]
    assert prov["direction"] == "a2b" and prov["translated"] == f"folder:{a_dir}:train"
    assert prov["reference"] == f"folder:{b_dir}:train"
    assert prov["generated_images"] == len(a) and prov["real_images"] == len(b)
    assert prov["genlab"] == genlab.__version__ and len(prov["reference_sha256"]) == 64
    assert results["kid_b2a"]["kid_b2a_std"] >= 0 and results["kid_b2a"]["provenance"]["generated_images"] == len(b)
    cycle = results["cycle"]
    assert 0 < cycle["cycle_l1_a"] < 1 and 0 < cycle["cycle_mse_b"] < 1 and cycle["images"] == len(a) + len(b)
    table = format_table(results)
    assert "FID A→B" in table and "KID x 1000 B→A" in table and "cycle L1 / MSE, A→B→A" in table
    assert "translated folder:" in table
    with pytest.raises(GenlabError, match="--inception-weights"):
        score(model, config, ["fid_a2b"])


class Unchanged(nn.Module):
    """A generator that returns its input, in whatever style it is asked for."""

    def forward(self, x, style=None):
        return x


def test_cycle_of_identity_generators_is_zero(translator):
    model, config = load_run(translator)
    model.gen_ab, model.gen_ba = Unchanged(), Unchanged()
    result = score(model, config, ["cycle"], split="train")["cycle"]
    assert result["cycle_l1"] < 1e-6 and result["cycle_mse_a"] < 1e-10 and result["cycle_mse_b"] < 1e-10


def test_translation_metrics_in_eval_json_and_compare(translator, tiny_run, tmp_path, capsys):
    import shutil

    run = shutil.copytree(translator, tmp_path / "run")
    code, out, err = run_cli(capsys, "eval", run, "--metrics", "cycle")
    assert code == 0 and "cycle L1 / MSE, B→A→B" in out, err
    evaluate(run, ["fid_a2b", "kid_b2a"], extractor=PixelStats())
    table = compare_runs([run])
    assert "| fid_a2b | kid_b2a ×1000 | cycle_l1_a | cycle_l1_b |" in table.splitlines()[0]  # KID as in eval
    assert "features: pixel-stats:00000000" in table
    code, _, err = run_cli(capsys, "eval", tiny_run, "--metrics", "cycle")
    assert code == 2 and "cannot be scored with cycle" in err and err.count("\n") == 1


def test_digit_domains_default_to_both_directions(translator):
    model, config = load_run(translator)
    config.data.name = "unpaired:mnist,mnistm"
    assert default_metrics(model, config) == ["fid_a2b", "fid_b2a", "kid_a2b", "kid_b2a", "cycle"]


def test_cycle_error_is_logged_during_training(domains, tmp_path):
    out = tmp_path / "scored"
    genlab.train(
        "cyclegan",
        data=f"unpaired:{domains[0]},{domains[1]}",
        preset="tiny",
        out=out,
        **QUIET,
        overrides=CYCLEGAN
        + ["train.max_steps=none", "train.eval_every=1", "train.eval_metrics=cycle", "train.eval_samples=8"],
    )
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    epoch = [r for r in records if r["kind"] == "epoch"][-1]
    assert 0 < epoch["eval/cycle_l1_a"] < 1 and 0 < epoch["eval/cycle_l1_b"] < 1


def test_classifier_size_comes_from_the_translators_unless_given():
    runs = [SimpleNamespace(model=SimpleNamespace(image_size=s)) for s in (16, 16)]
    target = SimpleNamespace(image_size=28)
    assert classifier_size(runs, 0, target) == 16 and classifier_size(runs, 32, target) == 32
    assert classifier_size([], 0, target) == 28
    with pytest.raises(GenlabError, match=r"different sizes \[16, 24\]; pass --image-size"):
        classifier_size(runs + [SimpleNamespace(model=SimpleNamespace(image_size=24))], 0, target)


def test_translators_of_one_recipe_are_summarised_over_their_seeds(domains, translator, tmp_path):
    """The same CycleGAN recipe with another train.seed: one group, its spread over translators in the table."""
    other = tmp_path / "cyclegan-seed5"
    genlab.train(
        "cyclegan",
        data=f"unpaired:{domains[0]},{domains[1]}",
        preset="tiny",
        out=other,
        **QUIET,
        overrides=CYCLEGAN + ["train.seed=5"],
    )
    report = adapt(
        str(domains[0]),
        str(domains[1]),
        translators=[translator, other],
        seeds=2,
        preset="tiny",
        overrides=TINY_CLASSIFIER,
        out=tmp_path / "adapt",
        **QUIET,
    )
    (group,) = report["translator_groups"]
    means = [report["rows"][r]["mean"] for r in ("translated", "translated_2")]
    assert group["rows"] == ["translated", "translated_2"] and group["translator_seeds"] == [0, 5]
    assert group["translator_means"] == means and group["min"] == min(means)
    assert group["mean"] == pytest.approx(sum(means) / 2) and group["std"] == pytest.approx(
        abs(means[0] - means[1]) / 2**0.5
    )
    line = next(line for line in adapt_table(report).splitlines() if "translators (train.seed" in line)
    assert "2 cyclegan a2b translators (train.seed 0, 5)" in line
    assert f"{group['mean']:.4f} ± {group['std']:.4f} over translators" in line


def test_translators_of_other_recipes_stay_apart():
    base = {"model": "cyclegan", "direction": "a2b"}
    translated = {
        "translated": {**base, "recipe": "x", "seed": 0},
        "translated_2": {**base, "recipe": "y", "seed": 0},
        "translated_3": {**base, "recipe": "x", "seed": 1},
    }
    rows = {"translated": {"mean": 0.8}, "translated_2": {"mean": 0.5}, "translated_3": {"mean": 0.9}}
    x, y = translator_groups(translated, rows)
    assert x["rows"] == ["translated", "translated_3"] and x["min"] == 0.8 and x["mean"] == pytest.approx(0.85)
    assert y["rows"] == ["translated_2"] and y["std"] == 0.0


def test_an_auto_semantic_classifier_is_trained_on_domain_a_first(domains, tmp_path):
    out = tmp_path / "cycada"
    genlab.train(
        "cyclegan",
        data=f"unpaired:{domains[0]},{domains[1]}",
        preset="tiny",
        out=out,
        **QUIET,
        overrides=CYCLEGAN + ["model.semantic_weight=1", "model.semantic_classifier=auto"],
    )
    classifier = load_config(out / "semantic_classifier" / "config.json")
    assert classifier.model_name == "classifier" and classifier.data.name == f"folder:{domains[0]}"
    config = load_config(out / "config.json")
    assert config.model.semantic_classifier == str(out / "semantic_classifier")
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert any("g/semantic" in r for r in records)
    with pytest.raises(GenlabError, match="domain A of unpaired"):
        genlab.train(
            "cyclegan",
            data=str(domains[0]),
            preset="tiny",
            out=tmp_path / "x",
            **QUIET,
            overrides=CYCLEGAN + ["model.semantic_weight=1", "model.semantic_classifier=auto"],
        )

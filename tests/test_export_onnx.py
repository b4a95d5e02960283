"""genlab export --format onnx: every family's image networks as ONNX graphs that onnxruntime runs like PyTorch
(explicit codes and labels, a dynamic batch), their manifest, clear lines for what cannot be exported, and
genlab eval of an exported generator agreeing with the run's own score."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from genlab.apps.testing import run_cli
from genlab.config import apply_overrides
from genlab.data import ImageData
from genlab.errors import GenlabError
from genlab.evaluation import evaluate
from genlab.evaluation.exported import evaluate_export
from genlab.export import EXTRA, OnnxDiffusion, OnnxGenerator, export_onnx, load_generator, open_session, read_manifest
from genlab.export import onnx as onnx_export
from genlab.files import sha256_file
from genlab.models import default_config, get_model_class
from genlab.runs import resolve_model_config, save_checkpoint, weights_identity
from genlab.samplers import seeded
from genlab.testing import PixelStats, synthetic_images, tiny_autoencoder_run

pytestmark = pytest.mark.usefixtures("one_thread")

TOLERANCE = 1e-4
FAMILIES = {  # name: (model, binarize, overrides, the graphs it exports, the one model.sample() draws through)
    "gan": ("gan", "none", [], {"generator.onnx", "generator_ema.onnx"}, "generator_ema.onnx"),
    "cgan": ("gan", "none", ["model.conditional=true", "model.ema=0"], {"generator.onnx"}, "generator.onnx"),
    "vae": ("vae", "dynamic", [], {"decoder.onnx", "encoder.onnx"}, "decoder.onnx"),
    "autoencoder": ("autoencoder", "none", [], {"decoder.onnx", "encoder.onnx"}, "decoder.onnx"),
    "latent-gan": ("latent-gan", "none", ["model.ema=0"], {"generator.onnx"}, "generator.onnx"),
    "cyclegan": ("cyclegan", "none", [], {"translate_a2b.onnx", "translate_b2a.onnx"}, None),
    "cyclegan-style": ("cyclegan", "none", ["model.style_dim=3"], {"translate_a2b.onnx", "translate_b2a.onnx"}, None),
    "refiner": ("refiner", "none", [], {"translate_a2b.onnx"}, None),
    "diffusion": ("diffusion", "none", [], {"denoiser.onnx"}, "denoiser.onnx"),
    "cdiffusion": (
        "diffusion",
        "none",
        ["model.conditional=true", "model.guidance=1.5"],
        {"denoiser.onnx"},
        "denoiser.onnx",
    ),
}
# one family per kind of graph runs in the fast tier (the refiner's translate graph stands for CycleGAN's two; the
# U-Net denoiser, slow to trace, in the slow one); the variants (labels, a code prior, codes of an autoencoder,
# styles, translation both ways) add seconds of export each and run in `make test-all`
VARIANTS = {"cgan", "autoencoder", "latent-gan", "cyclegan", "cyclegan-style", "diffusion", "cdiffusion"}


def tiered(cases: list) -> list:
    """Parameters (a family, or a tuple starting with one), those of the variant families marked slow."""
    params = []
    for case in cases:
        values = case if isinstance(case, tuple) else (case,)
        params.append(pytest.param(*values, marks=[pytest.mark.slow] * (values[0] in VARIANTS)))
    return params


def two_domains(n: int = 4) -> ImageData:
    """Images labelled A, B, A, B, ... for the image-to-image models."""
    images = torch.randint(0, 256, (n, 1, 28, 28), generator=seeded(0), dtype=torch.uint8)
    return ImageData(images, torch.arange(n) % 2, ["A", "B"], "synthetic")


def tiny_run(family: str, root):
    """A tiny model of ``family`` saved as a run folder (untrained; a GAN's EMA copy moved off its generator, an
    autoencoder's code statistics off N(0, I))."""
    name, binarize, overrides = FAMILIES[family][:3]
    config = apply_overrides(default_config(name, "tiny"), overrides)
    config.data.binarize = binarize
    if name == "latent-gan":
        config.model.autoencoder = str(tiny_autoencoder_run())
    resolve_model_config(config, two_domains() if name in ("cyclegan", "refiner") else synthetic_images(2))
    torch.manual_seed(0)
    model = get_model_class(name)(config.model).eval()
    with torch.no_grad():
        for p in model.generator_ema.parameters() if getattr(model, "generator_ema", None) is not None else []:
            p.add_(0.05 * torch.randn_like(p))
        if name == "autoencoder":
            model.code_mean.uniform_(-1, 1)
            model.code_var.uniform_(0.5, 2)
    save_checkpoint(root / family, model, config)
    return model, config, root / family


class Exports(dict):
    """family -> (model, config, run folder, export folder), each family exported when a test first asks."""

    def __init__(self, root):
        super().__init__()
        self.root = root

    def __missing__(self, family: str):
        model, config, run = tiny_run(family, self.root)
        self[family] = (model, config, run, export_onnx(run).parent)
        return self[family]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return Exports(tmp_path_factory.mktemp("onnx"))


def ort(folder, graph, *inputs):
    """The first output of an exported graph under onnxruntime."""
    session = open_session(folder / graph)
    names = [i.name for i in session.get_inputs()]
    return torch.from_numpy(session.run(None, {n: t.numpy() for n, t in zip(names, inputs)})[0])


def reference(model, graph, inputs):
    """What PyTorch makes of ``inputs`` through the model's public methods for graph ``graph``."""
    with torch.no_grad():
        if graph == "generator.onnx" and getattr(model, "generator_ema", None) is not None:
            return (model.generator(*inputs) + 1) / 2  # the trained generator, GAN.decode's output mapping
        if graph in ("generator.onnx", "generator_ema.onnx", "decoder.onnx"):
            return model.decode(*inputs)
        if graph == "denoiser.onnx":
            return model.denoise(*inputs)
        if graph == "encoder.onnx":
            x = inputs[0]
            return model.encode(x if model.config.likelihood == "bernoulli" else (torch.round(x * 255) + 0.5) / 256)
        return model.translate(inputs[0], graph[len("translate_") : -len(".onnx")], *inputs[1:])


def graph_inputs(model, graph, n, seed):
    """Fresh inputs for a batch of n: prior codes (and labels), or uniform images (and N(0, I) styles)."""
    if graph.startswith(("generator", "decoder")):
        z = model.prior_sample(n, seeded(seed))
        return (z, torch.randint(0, 10, (n,), generator=seeded(seed))) if model.num_classes else (z,)
    c = model.config
    images = torch.rand(n, c.channels, c.image_size, c.image_size, generator=seeded(seed))
    if graph == "denoiser.onnx":  # noisy images at levels across the objective's range (and labels, "none" too)
        sigma = torch.logspace(-2, 1.5, n) if n > 1 else torch.tensor([2.0])
        labels = torch.randint(0, model.num_classes + 1, (n,), generator=seeded(seed))
        return (images * 2 - 1 + sigma.view(-1, 1, 1, 1) * torch.randn_like(images), sigma) + (
            (labels,) if model.num_classes else ()
        )
    styles = getattr(c, "style_dim", 0)
    return (images, torch.randn(n, styles, generator=seeded(seed + 1))) if styles else (images,)


def all_graphs():
    return [(family, graph) for family, spec in FAMILIES.items() for graph in sorted(spec[3])]


@pytest.mark.parametrize("family", tiered(list(FAMILIES)))
def test_each_family_exports_its_image_networks(exported, family):
    model, _, _, folder = exported[family]
    manifest = read_manifest(folder)
    files = {g["file"] for g in manifest["graphs"]}
    assert files == FAMILIES[family][3] and {p.name for p in folder.iterdir()} == files | {"manifest.json"}
    assert manifest["sample_graph"] == FAMILIES[family][4]


@pytest.mark.parametrize("family, graph", tiered(all_graphs()))
def test_onnxruntime_matches_pytorch_at_batch_sizes_not_traced(exported, family, graph):
    model, _, _, folder = exported[family]
    for n in (1, 5):  # the graphs were traced at a batch of 2 and checked at 8 and 1
        inputs = graph_inputs(model, graph, n, seed=100 + n)
        got, expected = ort(folder, graph, *inputs), reference(model, graph, inputs)
        assert got.shape == expected.shape and got.shape[0] == n
        assert (got - expected).abs().max() <= TOLERANCE * max(1.0, expected.abs().max().item())
        if graph not in ("encoder.onnx", "denoiser.onnx"):
            assert got.min() >= 0 and got.max() <= 1


@pytest.mark.parametrize("family, graph", tiered([(f, g) for f, g in all_graphs() if g.startswith(("gen", "dec"))]))
def test_the_latent_code_is_an_input_not_a_constant(exported, family, graph):
    model, _, _, folder = exported[family]
    assert [i.name for i in open_session(folder / graph).get_inputs()][0] == "z"
    first, second = (
        ort(folder, graph, *graph_inputs(model, graph, 4, 1)),
        ort(folder, graph, *graph_inputs(model, graph, 4, 2)),
    )
    assert (first - second).abs().max() > 1e-3


def test_the_ema_graph_is_the_ema_generator(exported):
    model, _, _, folder = exported["gan"]
    z = model.prior_sample(6, seeded(7))
    plain, ema = ort(folder, "generator.onnx", z), ort(folder, "generator_ema.onnx", z)
    assert (ema - model.sample(6, seeded(7))).abs().max() <= TOLERANCE  # what the model samples
    assert (plain - ema).abs().max() > 1e-3


def test_the_manifest_names_inputs_shapes_ranges_and_provenance(exported):
    gan, config, run, folder = exported["gan"]
    manifest = read_manifest(folder)
    assert manifest["config"] == json.loads((run / "checkpoint" / "config.json").read_text())
    assert manifest["model_name"] == "gan" and manifest["weights_sha256"] == weights_identity(run)["weights_sha256"]
    for g in manifest["graphs"]:
        assert g["inputs"] == [
            {"name": "z", "dtype": "float32", "shape": ["batch", 8], "distribution": "standard normal"}
        ]
        assert g["outputs"] == [{"name": "images", "dtype": "float32", "shape": ["batch", 1, 28, 28], "range": [0, 1]}]
        assert g["sha256"] == sha256_file(folder / g["file"]) and g["bytes"] == (folder / g["file"]).stat().st_size
        assert g["exporter"] in ("dynamo", "torchscript") and g["opset"] >= 17
        assert 0 <= g["max_abs_diff"] <= g["tolerance"] == TOLERANCE and g["checked_batches"] == [8, 1]


@pytest.mark.parametrize("family", tiered(list(FAMILIES)))
def test_labels_are_an_input_exactly_for_conditional_models(exported, family):
    for g in read_manifest(exported[family][3])["graphs"]:
        names = [p["name"] for p in g["inputs"]]
        if family == "cgan":
            assert names == ["z", "labels"]
            assert g["inputs"][1] == {"name": "labels", "dtype": "int64", "shape": ["batch"], "range": [0, 9]}
        elif family == "cdiffusion":  # the index num_classes is "no label", for classifier-free guidance
            assert names == ["x", "sigma", "labels"]
            assert g["inputs"][2] == {
                "name": "labels",
                "dtype": "int64",
                "shape": ["batch"],
                "range": [0, 10],
                "no_label": 10,
            }
        else:
            assert "labels" not in names


@pytest.mark.slow  # a variant family
def test_encoders_translators_and_an_autoencoder_prior(exported):
    ae, _, _, folder = exported["autoencoder"]
    decoder, encoder = (
        next(g for g in read_manifest(folder)["graphs"] if g["file"] == f) for f in ("decoder.onnx", "encoder.onnx")
    )
    z = decoder["inputs"][0]
    assert z["distribution"] == "normal" and np.allclose(z["mean"], ae.code_mean)
    assert np.allclose(np.square(z["std"]), ae.code_var) and not np.allclose(z["std"], 1)
    assert encoder["inputs"][0]["range"] == [0, 1] and "dequantization" in encoder["inputs"][0]["preprocessing"]
    assert encoder["outputs"][0]["shape"] == ["batch", 4]
    translate = read_manifest(exported["refiner"][3])["graphs"][0]
    assert [p["name"] for p in translate["inputs"] + translate["outputs"]] == ["images", "translated"]


@pytest.mark.slow  # a variant family
def test_a_styled_translators_style_is_an_input_not_a_constant(exported):
    model, _, _, folder = exported["cyclegan-style"]
    style = read_manifest(folder)["graphs"][0]["inputs"][1]
    assert style["name"] == "style" and style["shape"] == ["batch", 3] and "normal" in style["distribution"]
    images, first = graph_inputs(model, "translate_a2b.onnx", 4, seed=7)
    second = torch.randn(first.shape, generator=seeded(99))
    assert (
        ort(folder, "translate_a2b.onnx", images, first) - ort(folder, "translate_a2b.onnx", images, second)
    ).abs().max() > 1e-3
    with pytest.raises(GenlabError, match="no style codes"):
        exported["cyclegan"][0].translate(images, "a2b", first)


@pytest.mark.parametrize("family", tiered(["gan", "autoencoder", "cgan"]))
def test_an_exported_generator_samples_like_its_model_from_the_same_seed(exported, family):
    model, _, _, folder = exported[family]
    generator, _ = load_generator(folder)
    assert isinstance(generator, OnnxGenerator) and generator.num_classes == model.num_classes
    assert (generator.sample(7, seeded(3)) - model.sample(7, seeded(3))).abs().max() <= TOLERANCE


@pytest.mark.parametrize("family", tiered(["diffusion", "cdiffusion"]))
def test_an_exported_denoiser_samples_like_its_model_by_the_manifests_schedule(exported, family):
    model, _, _, folder = exported[family]
    manifest = read_manifest(folder)
    sampling = manifest["sampling"]
    assert (sampling["sampler"], sampling["steps"]) == (model.config.sampler, model.config.sampling_steps)
    assert torch.allclose(torch.tensor(sampling["sigmas"]), model.noise_levels(model.default_sampling()))
    assert [p["name"] for p in manifest["graphs"][0]["inputs"]][:2] == ["x", "sigma"]
    sampler, _ = load_generator(folder)
    assert isinstance(sampler, OnnxDiffusion) and sampler.num_classes == model.num_classes
    got, expected = sampler.sample(5, seeded(3)), model.sample(5, seeded(3))
    assert (got - expected).abs().max() <= 1e-3 and sampler.last_evaluations == model.last_evaluations


def test_eval_of_the_exported_generator_gives_the_runs_fid(exported, tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    _, _, run, folder = exported["gan"]
    options = {"samples": 200, "reference_images": 300, "extractor": PixelStats()}
    onnx = evaluate_export(folder, ["fid"], **options)["fid"]
    torch_fid = evaluate(run, ["fid"], write=False, **options)["fid"]["fid"]
    assert onnx["fid"] == pytest.approx(torch_fid, rel=1e-3)
    assert onnx["provenance"]["graph"] == "generator_ema.onnx" and onnx["provenance"]["generated_images"] == 200
    stored = json.loads((folder / "eval.json").read_text())
    assert stored["fid@pixel-stats"]["fid"] == onnx["fid"] and not (run / "eval.json").exists()


def test_eval_of_an_export_names_what_it_cannot_score(exported, capsys):
    folder = exported["vae"][3]
    code, _, err = run_cli(capsys, "eval", folder, "--graph", "encoder.onnx")
    assert code == 2 and "does not make images from latent codes" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "eval", exported["refiner"][3])
    assert code == 2 and "no graph that makes images" in err
    code, _, err = run_cli(capsys, "eval", exported["vae"][2], "--graph", "decoder.onnx")
    assert code == 2 and "--graph" in err


def test_what_cannot_be_exported_is_one_line_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    config = default_config("classifier", "tiny")
    resolve_model_config(config, synthetic_images(2))
    save_checkpoint(tmp_path / "classifier", get_model_class("classifier")(config.model), config)
    for run, message in ((tmp_path / "empty", "not a genlab run"), (tmp_path / "classifier", "nothing to export")):
        code, out, err = run_cli(capsys, "export", run, "--format", "onnx", "-o", tmp_path / "out")
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and not out
        assert not (tmp_path / "out").exists() and not (run / "export").exists()


def test_a_missing_extra_or_a_full_folder_is_one_line(exported, tmp_path, capsys, monkeypatch):
    run = exported["refiner"][2]
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    code, _, err = run_cli(capsys, "export", run, "-o", tmp_path / "full")
    assert code == 2 and "not empty; pass --force" in err
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "onnxruntime", None)  # as if the export extra were not installed
        code, _, err = run_cli(capsys, "export", run, "-o", tmp_path / "new")
    assert code == 2 and err.strip() == f"genlab: error: {EXTRA}" and not (tmp_path / "new").exists()
    code, out, _ = run_cli(capsys, "export", run, "-o", tmp_path / "full", "--force")
    assert code == 0 and "translate_a2b.onnx" in out and (tmp_path / "full" / "notes.txt").exists()
    assert {p.name for p in (tmp_path / "full").iterdir()} == {"notes.txt", "translate_a2b.onnx", "manifest.json"}


def test_a_graph_off_tolerance_fails_and_the_torchscript_exporter_steps_in(exported, tmp_path, monkeypatch):
    run = exported["refiner"][2]
    with monkeypatch.context() as patch:
        patch.setattr(onnx_export, "TOLERANCE", -1.0)  # no graph can meet it
        with pytest.raises(GenlabError, match="differs from PyTorch by .* nothing was written"):
            export_onnx(run, tmp_path / "off")
    assert not (tmp_path / "off").exists()
    dynamo_export = torch.onnx.export

    def no_dynamo(*args, dynamo=True, **kwargs):
        if dynamo:
            raise RuntimeError("unsupported operator")
        return dynamo_export(*args, dynamo=False, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", no_dynamo)
    (graph,) = read_manifest(export_onnx(run, tmp_path / "legacy").parent)["graphs"]
    assert graph["exporter"] == "torchscript" and graph["dynamo_error"] == "unsupported operator"
    model = exported["refiner"][0]
    images = graph_inputs(model, "translate_a2b.onnx", 3, seed=5)
    assert (
        ort(tmp_path / "legacy", "translate_a2b.onnx", *images) - reference(model, "translate_a2b.onnx", images)
    ).abs().max() <= TOLERANCE


def test_importing_genlab_imports_no_onnx_package():
    code = (
        "import sys, genlab, genlab.apps.cli, genlab.export, genlab.evaluation.exported; "
        "genlab.apps.cli.build_parser(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('onnx', 'onnxscript', 'onnxruntime')))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"

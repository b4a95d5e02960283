"""genlab sample's diffusion options: the sampler chosen at sampling time, the network evaluations printed, and one
line (exit 2, nothing written) for an option the model cannot use."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import genlab
from genlab.apps.testing import run_cli
from genlab.testing import TINY_TRAIN

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def diffusion_run(tmp_path_factory):
    """A tiny diffusion model trained for one short epoch on 256 MNIST digits."""
    out = tmp_path_factory.mktemp("runs") / "diffusion"
    settings = TINY_TRAIN + ["train.eval_images=0", "train.grid_size=4"]
    genlab.train("diffusion", preset="tiny", overrides=settings, out=out, echo=lambda s: None)
    return out


@pytest.mark.parametrize("sampler, steps, evaluations", [("heun", 3, 5), ("dpmpp-2m", 4, 4), ("ddpm", 2, 2)])
def test_sample_draws_with_the_chosen_sampler_and_prints_its_network_evaluations(
    capsys, diffusion_run, tmp_path, sampler, steps, evaluations
):
    target = tmp_path / "s.png"
    argv = ["-n", 4, "--sampler", sampler, "--steps", steps, "-o", target]
    code, out, err = run_cli(capsys, "sample", diffusion_run, *argv)
    assert code == 0, err
    assert f"sampler {sampler}, {steps} steps: {evaluations} network evaluations per sample" in out
    assert Image.open(target).size[0] > 28


def test_ddim_samples_into_an_npz_reproducibly(capsys, diffusion_run, tmp_path):
    written = []
    for name in ("a.npz", "b.npz"):
        argv = ["-n", 3, "--sampler", "ddim", "--eta", "0.5", "--steps", 2, "--format", "npz", "-o", tmp_path / name]
        code, out, err = run_cli(capsys, "sample", diffusion_run, *argv)
        assert code == 0 and "2 network evaluations" in out, err
        written.append(np.load(tmp_path / name)["train_images"])
    assert written[0].shape == (3, 1, 28, 28) and np.array_equal(*written)


def test_classifier_guidance_writes_samples_of_the_asked_class(capsys, diffusion_run, tmp_path):
    argv = ["--guide", "digits-v2", "--label", 7, "--guide-scale", 2, "-n", 3, "--steps", 2, "--format", "npz"]
    code, out, err = run_cli(capsys, "sample", diffusion_run, *argv, "-o", tmp_path / "sevens.npz")
    assert code == 0 and "3 network evaluations per sample" in out, err
    arrays = np.load(tmp_path / "sevens.npz")
    assert arrays["train_images"].shape == (3, 1, 28, 28) and (arrays["train_labels"] == 7).all()


def test_translate_edits_a_folder_by_sdedit_at_the_given_strength(capsys, diffusion_run, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(3):
        Image.fromarray(np.full((28, 28), 40 * i, dtype=np.uint8)).save(inputs / f"{i}.png")
    argv = ["--strength", "0.5", "--steps", 4, "--grid", str(inputs), "--out", tmp_path / "out"]
    code, out, err = run_cli(capsys, "translate", diffusion_run, *argv)
    assert code == 0 and "wrote 4 file(s)" in out, err  # three edits and the grid
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"0.png", "1.png", "2.png", "grid_a2b.png"}
    code, _, err = run_cli(capsys, "translate", diffusion_run, str(inputs), "--out", tmp_path / "none")
    assert code == 2 and "give --strength" in err and err.count("\n") == 1 and not (tmp_path / "none").exists()


def test_strength_on_a_model_that_translates_directly_is_one_line(capsys, tiny_run, tmp_path):
    code, _, err = run_cli(capsys, "translate", tiny_run, "--strength", "0.5", str(tmp_path), "--out", tmp_path / "o")
    assert code == 2 and "--strength is for diffusion models" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--sampler", "heun", "--eta", "0.5"], "--eta is for the ddim sampler, not heun"),
        (["--guidance", "1"], "--guidance needs a class-conditional model"),
        (["--label", "3"], "--label needs a class-conditional model"),
        (["--guide", "digits"], "--guide needs --label"),
        (["--guide", "digits", "--label", "1", "--guide-scale", "0"], "--guide-scale must be > 0"),
    ],
)
def test_options_a_diffusion_run_cannot_use_are_one_line(capsys, diffusion_run, tmp_path, extra, message):
    code, _, err = run_cli(capsys, "sample", diffusion_run, *extra, "-o", tmp_path / "x.png")
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("extra", [["--sampler", "heun"], ["--steps", "5"], ["--guidance", "0"]])
def test_diffusion_options_on_a_one_pass_model_are_one_line(capsys, tiny_run, tmp_path, extra):
    code, _, err = run_cli(capsys, "sample", tiny_run, *extra, "-o", tmp_path / "x.png")
    assert code == 2 and "for diffusion models; model 'vae' draws in one pass" in err and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()

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


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--sampler", "heun", "--eta", "0.5"], "--eta is for the ddim sampler, not heun"),
        (["--guidance", "1"], "--guidance needs a class-conditional model"),
        (["--label", "3"], "--label needs a class-conditional model"),
        (["--guide", "digits", "--label", "1", "--sampler", "heun"], "--guide steers a latent chain"),
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

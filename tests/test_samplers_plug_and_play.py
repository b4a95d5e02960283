"""Plug & Play sampling (Nguyen et al. 2017, Eq. 5): seeded chains, the guide's pull, the prior term, frozen models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import genlab
from genlab.apps.testing import run_cli
from genlab.errors import GenlabError
from genlab.metrics.extractors import GuideEnsemble, load_guide
from genlab.runs import load_run
from genlab.samplers import clip_norm, plug_and_play, recorded_steps, seeded
from genlab.testing import TINY_TRAIN, tiny_model

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def guide():
    return load_guide("digits")


@pytest.fixture(scope="module")
def vae(tiny_run):
    return load_run(tiny_run)[0]


@pytest.fixture(scope="module")
def gan(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "gan"
    genlab.train("gan", preset="tiny", overrides=TINY_TRAIN, out=out, echo=lambda s: None)
    return load_run(out)[0]


@pytest.mark.parametrize("name", ["vae", "gan"])
def test_chains_are_reproducible_from_the_seed(name, request, guide):
    model = request.getfixturevalue(name)
    a, b, c = (plug_and_play(model, guide, 3, n=6, steps=4, seed=s).images for s in (1, 1, 2))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("name", ["vae", "gan"])
def test_the_guide_log_probability_of_the_target_class_goes_up(name, request, guide):
    model = request.getfixturevalue(name)
    for label in (0, 3, 7):
        result = plug_and_play(model, guide, label, n=16, steps=20, eps2=1.0, eps3=0.01, seed=label)
        start, end = result.log_probs.mean(1).tolist()
        assert end > start, (label, start, end)


def test_the_step_count_is_respected(vae, guide):
    result = plug_and_play(vae, guide, 1, n=3, steps=7, seed=0, record_every=3)
    assert result.steps == [0, 3, 6, 7] and result.chain.shape == (4, 3, 1, 28, 28)
    assert result.log_probs.shape == (4, 3) and result.images.shape == (3, 1, 28, 28)
    assert torch.equal(result.chain[-1], result.images)
    assert plug_and_play(vae, guide, 1, n=2, steps=5).chain is None and recorded_steps(0, None) == [0]


@pytest.mark.parametrize("name", ["vae", "gan"])
def test_without_condition_and_noise_only_the_n01_prior_term_is_left(name, request, guide):
    model, eps1, steps = request.getfixturevalue(name), 0.1, 6
    h0 = model.prior_sample(5, generator=seeded(4))
    result = plug_and_play(model, guide, 2, n=5, steps=steps, eps1=eps1, eps2=0, eps3=0, seed=4)
    torch.testing.assert_close(result.codes, (1 - eps1) ** steps * h0)


def test_the_autoencoder_prior_term_pulls_towards_its_fitted_normal(guide):
    model, _ = tiny_model("autoencoder", "none")
    with torch.no_grad():
        model.code_mean.uniform_(-1, 1)
        model.code_var.uniform_(1, 2)
    h0 = model.prior_sample(4, generator=seeded(0))
    result = plug_and_play(model, guide, 2, n=4, steps=3, eps1=0.2, eps2=0, eps3=0, seed=0)
    expected = model.code_mean + (1 - 0.2 / model.code_var) ** 3 * (h0 - model.code_mean)
    torch.testing.assert_close(result.codes, expected)


@pytest.mark.parametrize("name", ["vae", "autoencoder", "gan", "latent-gan"])
def test_render_is_decode_with_a_gradient_in_the_code(name):
    model = tiny_model(name, "none" if name == "autoencoder" else "dynamic")[0].eval()
    z = model.prior_sample(3, generator=seeded(0)).requires_grad_(True)
    images = model.render(z)
    torch.testing.assert_close(images.detach(), model.decode(z))
    assert not model.decode(z).requires_grad  # decode stays graph-free for sampling
    (grad,) = torch.autograd.grad(images.sum(), z)
    assert grad.abs().sum() > 0


def test_the_model_stays_frozen_and_keeps_its_mode(gan, guide):
    before = {k: v.clone() for k, v in gan.state_dict().items()}
    gan.train()
    plug_and_play(gan, guide, 5, n=4, steps=3, seed=0)
    assert gan.training and not guide.training
    assert all(torch.equal(v, before[k]) for k, v in gan.state_dict().items())
    assert all(p.grad is None for p in gan.parameters()) and all(p.grad is None for p in guide.parameters())
    gan.eval()


@pytest.mark.parametrize("name", ["classifier", "cyclegan"])
def test_a_model_that_cannot_decode_is_one_line(name, guide):
    model, _ = tiny_model(name)
    with pytest.raises(GenlabError, match="cannot generate by plug & play") as info:
        plug_and_play(model, guide, 1, n=2, steps=2)
    assert "\n" not in str(info.value)


def test_cli_writes_the_samples_and_the_chain_strip(tiny_run, tmp_path, capsys):
    out = tmp_path / "sevens.png"
    code, stdout, _ = run_cli(
        capsys,
        "sample",
        tiny_run,
        "--guide",
        "digits",
        "--label",
        7,
        "--steps",
        8,
        "-n",
        6,
        "--chain-rows",
        3,
        "-o",
        out,
    )
    assert code == 0 and out.is_file() and (tmp_path / "sevens-chain.png").is_file()
    assert "guide p(y=7) mean:" in stdout
    code, stdout, _ = run_cli(
        capsys,
        "sample",
        tiny_run,
        "--guide",
        "digits-v2,digits",
        "--label",
        7,
        "--steps",
        2,
        "-n",
        2,
        "--max-step",
        0,
        "-o",
        tmp_path / "pair.png",
    )
    assert code == 0 and (tmp_path / "pair.png").is_file() and "guide p(y=7) mean:" in stdout


@pytest.mark.parametrize("fmt", ["npz", "png-dir"])
def test_cli_writes_guided_samples_as_files_labelled_by_their_class(tiny_run, tmp_path, capsys, fmt):
    out = tmp_path / ("guided.npz" if fmt == "npz" else "guided")
    argv = ["--guide", "digits-v2", "--label", 3, "--steps", 2, "-n", 5, "--batch-size", 2, "--format", fmt, "-o", out]
    code, stdout, err = run_cli(capsys, "sample", tiny_run, *argv)
    assert code == 0 and "wrote 5 samples" in stdout, err
    if fmt == "npz":
        arrays = np.load(out)
        assert arrays["train_images"].shape == (5, 1, 28, 28) and (arrays["train_labels"] == 3).all()
        again = tmp_path / "again.npz"
        assert run_cli(capsys, "sample", tiny_run, *argv[:-1], again)[0] == 0
        assert np.array_equal(np.load(again)["train_images"], arrays["train_images"])  # the seed fixes the chains
    else:
        assert len(list(out.rglob("*.png"))) == 5


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--label", 10], "0..9"),
        ([], "needs --label"),
        (["--label", 1, "--max-step", -1], "--max-step must be a finite number"),
    ],
)
def test_cli_bad_label_is_exit_2_one_line(tiny_run, tmp_path, capsys, extra, message):
    code, _, err = run_cli(
        capsys, "sample", tiny_run, "--guide", "digits", *extra, "--steps", 2, "-n", 2, "-o", tmp_path / "x.png"
    )
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_the_condition_step_is_clipped_per_chain_and_small_steps_pass_unchanged(vae, guide):
    step = torch.tensor([[3.0, 4.0], [0.03, 0.04]])
    torch.testing.assert_close(clip_norm(step, 1.0), torch.tensor([[0.6, 0.8], [0.03, 0.04]]))
    assert clip_norm(step, None) is step
    h0 = vae.prior_sample(6, generator=seeded(1))
    result = plug_and_play(vae, guide, 4, n=6, steps=5, eps1=0, eps2=100.0, eps3=0, seed=1, max_step=0.05)
    moved = (result.codes - h0).norm(dim=1)
    assert (moved <= 5 * 0.05 + 1e-5).all() and (moved > 0.05).all()
    with pytest.raises(GenlabError, match="--max-step"):
        plug_and_play(vae, guide, 4, n=2, steps=1, max_step=-1.0)


def test_a_guide_ensemble_is_the_mean_of_its_members_log_probabilities(guide):
    images = torch.rand(5, 1, 28, 28)
    pair = load_guide("digits,digits-v2")
    members = [torch.log_softmax(load_guide(n)(images), 1) for n in ("digits", "digits-v2")]
    assert isinstance(pair, GuideEnsemble) and pair.name == "digits,digits-v2" and pair.num_classes == 10
    torch.testing.assert_close(pair(images), (members[0] + members[1]) / 2)
    assert isinstance(load_guide(["digits"]), type(guide))
    with pytest.raises(GenlabError, match="same classes"):
        GuideEnsemble([guide, torch.nn.Linear(3, 3)])

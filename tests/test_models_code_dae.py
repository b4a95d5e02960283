"""The code denoising autoencoder (PPGN-h's learned prior): training on a frozen source's codes, its score, and
Plug & Play with it as the prior."""

from __future__ import annotations

import pytest
import torch

import genlab
from genlab.apps.testing import run_cli
from genlab.errors import GenlabError
from genlab.runs import load_run
from genlab.samplers import plug_and_play, seeded
from genlab.testing import TINY_TRAIN, run_weights, tiny_autoencoder_run

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def dae_run(tmp_path_factory):
    """A code-dae trained for 3 epochs on the codes of an (untrained, tiny) autoencoder run."""
    out = tmp_path_factory.mktemp("dae") / "dae"
    settings = [
        f"model.source={tiny_autoencoder_run()}",
        "model.noise_std=0.5",
        "train.lr=3e-3",
        *TINY_TRAIN,
        "train.epochs=3",
    ]
    genlab.train("code-dae", preset="tiny", overrides=settings, out=out, echo=lambda s: None)
    return out


def test_the_source_stays_frozen_and_the_codes_are_its(dae_run):
    dae, config = load_run(dae_run)
    source = run_weights(tiny_autoencoder_run())
    inside = run_weights(dae_run)
    assert all(torch.equal(inside[f"source.{k}"], v) for k, v in source.items())
    assert config.model.latent_dim == dae.source.config.latent_dim and config.model.source_config
    x = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(dae.prepare(x, seeded(1)), dae.source.encode(dae.source.prepare(x, seeded(1))))


def test_the_trained_score_points_back_to_the_codes(dae_run):
    dae, _ = load_run(dae_run)
    x = genlab.data.load_dataset("mnist", "test").head(256).images.float() / 255
    h = dae.prepare(x)
    noisy = h + 0.5 * dae.source.code_var.sqrt() * torch.randn(h.shape, generator=seeded(0))
    with torch.no_grad():
        denoised = noisy + dae.score(noisy)
    assert (denoised - h).pow(2).mean() < 0.7 * (noisy - h).pow(2).mean()


def test_plug_and_play_walks_by_the_dae_when_given(dae_run):
    dae, _ = load_run(dae_run)
    model = dae.source
    guide = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(28 * 28, 10))
    h0 = model.prior_sample(3, generator=seeded(2))
    result = plug_and_play(model, guide, 1, n=3, steps=1, eps1=0.5, eps2=0, eps3=0, seed=2, prior=dae)
    with torch.no_grad():
        torch.testing.assert_close(result.codes, h0 + 0.5 * dae.score(h0))
    own = plug_and_play(model, guide, 1, n=3, steps=1, eps1=0.5, eps2=0, eps3=0, seed=2)
    assert not torch.allclose(own.codes, result.codes)


def test_a_prior_of_other_codes_and_bad_options_are_one_line(capsys, dae_run, tiny_run, tmp_path):
    code, _, err = run_cli(
        capsys,
        "sample",
        tiny_run,
        "--guide",
        "digits",
        "--label",
        "1",
        "--prior",
        dae_run,
        "--steps",
        "2",
        "-o",
        tmp_path / "g.png",
    )
    assert code == 2 and "trained on this model's codes" in err and err.count("\n") == 1
    assert not (tmp_path / "g.png").exists()
    code, _, err = run_cli(capsys, "train", "code-dae", "--out", tmp_path / "x")
    assert code == 2 and "model.source=RUN" in err and err.count("\n") == 1
    with pytest.raises(GenlabError, match="noise_std"):
        genlab.train(
            "code-dae",
            overrides=[f"model.source={tiny_autoencoder_run()}", "model.noise_std=0"],
            out=tmp_path / "y",
            echo=lambda s: None,
        )


def test_the_cli_guides_with_the_dae_which_itself_cannot_sample(capsys, dae_run, tmp_path):
    code, out, err = run_cli(
        capsys,
        "sample",
        tiny_autoencoder_run(),
        "--guide",
        "digits",
        "--label",
        "4",
        "--prior",
        dae_run,
        "--steps",
        "3",
        "-n",
        "4",
        "-o",
        tmp_path / "g.png",
    )
    assert code == 0 and (tmp_path / "g.png").is_file() and "at step 3" in out, err
    code, out, err = run_cli(capsys, "sample", dae_run, "-n", "2", "-o", tmp_path / "s.png")
    assert code == 2 and "cannot draw samples" in err and err.count("\n") == 1

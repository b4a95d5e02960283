"""The latent GAN: a GAN on an autoencoder's codes, decoded by the frozen decoder."""

from __future__ import annotations

import shutil

import pytest
import torch

import genlab
from genlab.errors import GenlabError
from genlab.models import default_config
from genlab.models.latent_gan import LatentGAN
from genlab.runs import load_pretrained, resolve_model_config, save_checkpoint
from genlab.testing import TINY_TRAIN, run_weights, synthetic_images, tiny_autoencoder_run, tiny_model

QUIET = {"echo": lambda s: None}


def test_codes_are_standardized_and_samples_are_decoded_generator_codes():
    model, _ = tiny_model("latent-gan", binarize="none")
    load_pretrained(model)
    coder = model.autoencoder
    std = coder.code_var.sqrt()
    assert not torch.equal(coder.code_mean, torch.zeros_like(coder.code_mean))  # the run's statistics arrived
    x = torch.rand(6, 1, 28, 28)
    codes = coder.encode(coder.prepare(x, torch.Generator().manual_seed(1)))  # the encoder sees its own input
    assert torch.allclose(model.prepare(x, torch.Generator().manual_seed(1)) * std + coder.code_mean, codes, atol=1e-5)
    z = torch.randn(5, model.config.latent_dim)
    codes = model.generator_ema(z) * std + coder.code_mean
    assert model.generator_ema(z).shape == (5, coder.config.latent_dim)
    assert torch.allclose(model.decode(z), coder.decode(codes))


def test_only_the_code_networks_train_and_the_autoencoder_stays_in_eval_mode():
    model, _ = tiny_model("latent-gan")
    model.train()
    assert not model.autoencoder.training and model.generator.training
    trainable = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"generator", "discriminator"}
    assert {n.split(".")[0] for n in model.optimizers(default_config("latent-gan").train)} == {"d", "g"}


def test_a_trained_latent_gan_keeps_the_decoder_and_loads_without_its_autoencoder_run(tmp_path):
    coder = tmp_path / "ae"
    shutil.copytree(tiny_autoencoder_run(1, 28), coder)
    genlab.train(
        "latent-gan", preset="tiny", out=tmp_path / "lg", overrides=TINY_TRAIN + [f"model.autoencoder={coder}"], **QUIET
    )
    saved_coder, latent_gan = run_weights(coder), run_weights(tmp_path / "lg")
    assert all(torch.equal(latent_gan[f"autoencoder.{k}"], v) for k, v in saved_coder.items())
    shutil.rmtree(coder)
    model = genlab.load(tmp_path / "lg")
    images = model.sample(4, generator=torch.Generator().manual_seed(0))
    assert images.shape == (4, 1, 28, 28) and images.min() >= 0 and images.max() <= 1


def resolve(autoencoder: str, data=None) -> None:
    config = default_config("latent-gan", "tiny")
    config.model.autoencoder = autoencoder
    resolve_model_config(config, data or synthetic_images(2))


def test_latent_gan_errors_are_one_clear_line(tmp_path):
    with pytest.raises(GenlabError, match="needs model.autoencoder=RUN"):
        resolve("")
    with pytest.raises(GenlabError, match="does not exist"):
        resolve(str(tmp_path / "missing"))
    with pytest.raises(GenlabError, match="trained on 1x28x28 images"):
        resolve(str(tiny_autoencoder_run(1, 28)), synthetic_images(2, channels=3, size=32))
    save_checkpoint(tmp_path / "gan", *tiny_model("gan"))
    with pytest.raises(GenlabError, match="is a 'gan' run"):
        resolve(str(tmp_path / "gan"))
    with pytest.raises(GenlabError, match="must name a trained autoencoder"):
        LatentGAN(default_config("latent-gan").model)


def test_a_vae_run_serves_as_the_code_model_with_unscaled_posterior_means(tmp_path):
    vae, config = tiny_model("vae", binarize="none")
    save_checkpoint(tmp_path / "vae", vae, config)
    lgan_config = default_config("latent-gan", "tiny")
    lgan_config.model.autoencoder = str(tmp_path / "vae")
    resolve_model_config(lgan_config, synthetic_images(2))
    model = LatentGAN(lgan_config.model)
    load_pretrained(model)
    x = torch.rand(3, 1, 28, 28)
    gen = torch.Generator().manual_seed(0)
    assert torch.allclose(model.prepare(x, gen), vae.encode(vae.prepare(x, gen.manual_seed(0))), atol=1e-5)
    assert model.sample(2).shape == (2, 1, 28, 28)

"""Model families; importing this package registers them (one file per family)."""
from . import autoencoder, classifier, cyclegan, gan, latent_gan, refiner, vae  # noqa: F401
from .base import GenerativeModel

__all__ = ["GenerativeModel"]

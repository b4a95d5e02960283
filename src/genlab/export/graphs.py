"""Which networks of a model become ONNX graphs: one table of (graph, capability test, wrapper, inputs, outputs).

The wrappers call the models' public methods (``decode``, ``encode``, ``prepare``, ``translate``), so a new model
needs no export code unless it brings a new kind of network. Every input is explicit: latent codes and class labels
are fed to the graph, never drawn inside it (a ``torch.randn`` in ``forward`` is traced as a constant).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import GenlabError
from ..models.capabilities import Model
from ..models.translator import DIRECTIONS
from ..samplers import seeded

IMAGES = {"range": [0, 1]}
STANDARD_NORMAL = {"distribution": "standard normal"}
DEQUANTIZED_MEAN = (
    "uniform dequantization at its mean, (round(255 x) + 1/2) / 256 (the model dequantizes "
    "with random noise in training)"
)


@dataclass(frozen=True)
class Port:
    """One input or output of a graph: name, dtype, shape ("batch" marks the dynamic dimension), values."""

    name: str
    dtype: str  # float32 | int64
    shape: tuple[Any, ...]
    values: dict[str, Any] = field(default_factory=dict)  # {"range": [0, 1]}, {"distribution": ...}, ...

    def describe(self) -> dict[str, Any]:
        """The port as the manifest lists it."""
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape), **self.values}


@dataclass(frozen=True)
class Graph:
    """A kind of network a model may have, and how to export it."""

    name: str  # the file is NAME.onnx
    applies: Callable[[Any], bool]  # whether the model has this network
    wrapper: Callable[[Any], nn.Module]  # an nn.Module over the model's public methods: inputs -> outputs
    inputs: Callable[[Any], list[Port]]
    outputs: Callable[[Any], list[Port]]
    sampled: Callable[[Any], bool] = lambda model: False  # model.sample() draws through this graph


# -- wrappers ---------------------------------------------------------------------------------------------
def in_domain(domain: str | None) -> dict[str, str]:
    """The keyword that picks one domain of a two-domain model (UNIT); none for other models."""
    return {} if domain is None else {"domain": domain}


class Decode(nn.Module):
    """Latent codes (and class labels) -> images in [0, 1]: the model's ``decode`` (into ``domain``, for UNIT)."""

    def __init__(self, model: Any, domain: str | None = None):
        super().__init__()
        self.model, self.options = model, in_domain(domain)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.model.decode(z, labels, **self.options)


class Encode(nn.Module):
    """Images in [0, 1] -> the code ``encode`` returns, after the preparation ``encode`` expects (images of
    ``domain``, for UNIT)."""

    def __init__(self, model: Any, domain: str | None = None):
        super().__init__()
        self.model, self.options = model, in_domain(domain)
        self.prepare = preparation(model)[0]

    def forward(self, images: Tensor) -> Tensor:
        return self.model.encode(self.prepare(images), **self.options)


class Translate(nn.Module):
    """Images in [0, 1] of one domain -> the other domain in [0, 1]: the model's ``translate``."""

    def __init__(self, model: Any, direction: str):
        super().__init__()
        self.model, self.direction = model, direction

    def forward(self, images: Tensor, style: Tensor | None = None) -> Tensor:
        return self.model.translate(images, self.direction, style)


class Denoise(nn.Module):
    """Noisy images on the variance-exploding scale and their noise levels (and labels) -> the EMA denoiser's
    estimate of the clean images, D(x; sigma) (Karras et al. 2022, Eq. 7): one network evaluation of a solver."""

    def __init__(self, model: Any):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor, sigma: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.model.denoise(x, sigma, labels)


class DecodeNoise(nn.Module):
    """Every latent group's standard-normal noise, top-down -> images in [0, 1]: a hierarchical VAE's top-down path
    (``decode_noise``), z_l = mu_l + sigma_l noise_l; noise times T samples at temperature T."""

    def __init__(self, model: Any):
        super().__init__()
        self.model = model

    def forward(self, *noise: Tensor) -> Tensor:
        return self.model.decode_noise(list(noise))


def without_ema(model: Any) -> Any:
    """The model itself, or for a model that samples through an EMA copy of its generator a copy of the model
    whose ``decode`` goes through the trained generator instead."""
    if getattr(model, "generator_ema", None) is None:
        return model
    plain = copy.deepcopy(model)
    plain.generator_ema = None
    return plain


def dequantized_mean(x: Tensor) -> Tensor:
    """The mean of a uniform dequantization of images in [0, 1]: pixel k/255 -> (k + 1/2) / 256."""
    return (torch.round(x * 255) + 0.5) / 256


def preparation(model: Model) -> tuple[Callable[[Tensor], Tensor], dict[str, str]]:
    """What ``encode`` expects done to images in [0, 1], and how the manifest says it: ``model.prepare`` when it
    is deterministic; a random uniform dequantization (Gaussian likelihoods) at its mean."""
    c = model.config
    x = torch.rand(4, c.channels, c.image_size, c.image_size, generator=seeded(0)).to(model.device)
    with torch.no_grad():
        first, second = model.prepare(x, seeded(1)), model.prepare(x, seeded(2))
    if torch.equal(first, second):
        return model.prepare, {}
    if (first - dequantized_mean(x)).abs().max() <= 0.5 / 256 + 1e-6:
        return dequantized_mean, {"preprocessing": DEQUANTIZED_MEAN}
    raise GenlabError(
        f"model {model.name!r} prepares images for its encoder at random in a way genlab export "
        "cannot make deterministic"
    )


# -- ports ------------------------------------------------------------------------------------------------
def latent_distribution(model: Model) -> dict[str, Any]:
    """How the model draws latent codes (``prior_sample``): N(0, I), or for an autoencoder N(code_mean,
    code_var) as ``Autoencoder.prior_sample`` draws it (mean + std * standard normal)."""
    if isinstance(getattr(model, "code_mean", None), Tensor):
        return {"distribution": "normal", "mean": model.code_mean.tolist(), "std": model.code_var.sqrt().tolist()}
    return dict(STANDARD_NORMAL)


def draw_latent(values: dict[str, Any], n: int, dim: int, generator: torch.Generator | None = None) -> Tensor:
    """n codes [n, dim] from a manifest's latent distribution, drawn on the CPU generator like ``prior_sample``."""
    eps = torch.randn(n, dim, generator=generator)
    if values.get("distribution") == "normal":
        return torch.tensor(values["mean"]) + torch.tensor(values["std"]) * eps
    return eps


def latent_inputs(model: Model) -> list[Port]:
    """z [batch, latent_dim] from the model's prior, and labels [batch] for a class-conditional model."""
    z = Port("z", "float32", ("batch", model.config.latent_dim), latent_distribution(model))
    classes = getattr(model, "num_classes", 0)
    return [z] + ([Port("labels", "int64", ("batch",), {"range": [0, classes - 1]})] if classes else [])


def image_port(model: Model, **values: Any) -> Port:
    """images [batch, C, H, W] in [0, 1] at the model's size."""
    c = model.config
    return Port("images", "float32", ("batch", c.channels, c.image_size, c.image_size), {**IMAGES, **values})


def encoder_inputs(model: Model) -> list[Port]:
    """images in [0, 1], with the preparation the encoder graph applies to them."""
    return [image_port(model, **preparation(model)[1])]


def code_outputs(model: Model) -> list[Port]:
    """codes [batch, latent_dim]: what ``encode`` returns (a VAE's posterior mean), decoder.onnx's z."""
    return [
        Port(
            "codes",
            "float32",
            ("batch", model.config.latent_dim),
            {"meaning": "encode() of the images: the code decoder.onnx takes as z"},
        )
    ]


# -- the table --------------------------------------------------------------------------------------------
def makes_images(model: Model) -> bool:
    """Decodes latent codes into images (not 2-D points)."""
    return model.supports("decode") and not getattr(model, "points", False)


def has_ema(model: Model) -> bool:
    """Samples through an EMA copy of its generator."""
    return getattr(model, "generator_ema", None) is not None


def one_domain(model: Model) -> bool:
    """Decodes and encodes in one image space (not UNIT's two)."""
    return not getattr(model, "domains", ())


def has_domain(domain: str) -> Callable[[Any], bool]:
    """Whether a model decodes into and encodes from image domain ``domain`` (UNIT: a and b)."""
    return lambda model: domain in getattr(model, "domains", ())


def translates(direction: str) -> Callable[[Any], bool]:
    """Whether a model translates images in ``direction``."""
    return lambda model: model.supports("translate") and direction in model.directions


def images(model: Model) -> list[Port]:
    """images [batch, C, H, W] in [0, 1]: what a graph takes or makes."""
    return [image_port(model)]


def translate_inputs(model: Model) -> list[Port]:
    """images in [0, 1], and for a translator with style codes the target styles [batch, style_dim] ~ N(0, I)."""
    dim = getattr(model, "style_dim", 0)
    return images(model) + ([Port("style", "float32", ("batch", dim), dict(STANDARD_NORMAL))] if dim else [])


def translated_out(model: Model) -> list[Port]:
    """translated [batch, C, H, W] in [0, 1]: the images carried into the other domain."""
    return [dataclasses.replace(image_port(model), name="translated")]


def noise_inputs(model: Any) -> list[Port]:
    """noise_1 .. noise_L [batch, channels, size, size] ~ N(0, I): one per latent group, in top-down order."""
    meaning = "group {} of the top-down path (top first); multiply by T to sample at temperature T"
    return [
        Port(f"noise_{i}", "float32", ("batch", *shape), {**STANDARD_NORMAL, "meaning": meaning.format(i)})
        for i, shape in enumerate(model.group_shapes, 1)
    ]


def denoiser_inputs(model: Any) -> list[Port]:
    """x [batch, C, H, W] = x0 + sigma n with x0 in [-1, 1], sigma [batch] (t = sigma, Karras et al. 2022), and
    for a class-conditional model labels [batch], where the index num_classes means "no label"."""
    c, objective = model.config, model.objective
    x = Port("x", "float32", ("batch", c.channels, c.image_size, c.image_size), {"meaning": "x0 + sigma * n"})
    sigma = Port("sigma", "float32", ("batch",), {"range": [objective.sigma_min, objective.sigma_max]})
    classes = getattr(model, "num_classes", 0)
    labels = Port("labels", "int64", ("batch",), {"range": [0, classes], "no_label": classes})
    return [x, sigma] + ([labels] if classes else [])


def denoised_out(model: Any) -> list[Port]:
    """denoised [batch, C, H, W]: the estimate of x0, in about [-1, 1]."""
    c = model.config
    meaning = {"meaning": "D(x; sigma), the estimate of x0 in [-1, 1]"}
    return [Port("denoised", "float32", ("batch", c.channels, c.image_size, c.image_size), meaning)]


def sampling_schedule(model: Any) -> dict[str, Any] | None:
    """How to sample with denoiser.onnx in any runtime: the run's default solver and its noise levels, how to
    start and how to read the images (None for models without a denoiser)."""
    if not model.supports("denoise"):
        return None
    sampling = model.default_sampling()
    return {
        "sampler": sampling.sampler,
        "steps": sampling.steps,
        "eta": sampling.eta,
        "guidance": sampling.guidance,
        "sigmas": model.noise_levels(sampling).tolist(),
        "start": "x = sigmas[0] * z, z ~ N(0, I) [batch, C, H, W]",
        "step": "the solver genlab.ops.diffusion names, over consecutive (sigmas[i], sigmas[i + 1])",
        "guidance_rule": "(1 + w) D(x; sigma, y) - w D(x; sigma, no_label) (Ho & Salimans 2021)",
        "images": "clamp((x + 1) / 2, 0, 1) at sigma = 0",
    }


GRAPHS = (
    Graph(
        "generator",
        lambda m: makes_images(m) and not m.supports("encode"),
        lambda m: Decode(without_ema(m)),
        latent_inputs,
        images,
        sampled=lambda m: not has_ema(m),
    ),
    Graph(
        "generator_ema", lambda m: makes_images(m) and has_ema(m), Decode, latent_inputs, images, sampled=lambda m: True
    ),
    Graph(
        "decoder",
        lambda m: makes_images(m) and m.supports("encode") and one_domain(m) and not m.supports("decode_noise"),
        Decode,
        latent_inputs,
        images,
        sampled=lambda m: True,
    ),
    Graph(
        "encoder",
        lambda m: m.supports("encode") and one_domain(m) and not m.supports("decode_noise"),
        Encode,
        encoder_inputs,
        code_outputs,
    ),
    Graph("top_down", lambda m: m.supports("decode_noise"), DecodeNoise, noise_inputs, images, sampled=lambda m: True),
    *(
        Graph(
            f"decoder_{d}",
            has_domain(d),
            lambda m, d=d: Decode(m, d),
            latent_inputs,
            images,
            sampled=lambda m, d=d: d == m.domains[0],
        )
        for d in ("a", "b")
    ),
    *(
        Graph(f"encoder_{d}", has_domain(d), lambda m, d=d: Encode(m, d), encoder_inputs, code_outputs)
        for d in ("a", "b")
    ),
    *(
        Graph(f"translate_{d}", translates(d), lambda m, d=d: Translate(m, d), translate_inputs, translated_out)
        for d in DIRECTIONS
    ),
    Graph("denoiser", lambda m: m.supports("denoise"), Denoise, denoiser_inputs, denoised_out, sampled=lambda m: True),
)


def graphs_of(model: Model) -> list[Graph]:
    """The graphs a model exports; one clear line for a model that makes no images."""
    if getattr(model, "points", False):
        raise GenlabError(
            f"model {model.name!r} makes 2-D points, not images: genlab export writes networks that make images"
        )
    graphs = [graph for graph in GRAPHS if graph.applies(model)]
    if not graphs:
        raise GenlabError(
            f"model {model.name!r} makes no images: nothing to export (genlab export writes "
            "generators, decoders, encoders, translators and denoisers)"
        )
    return graphs

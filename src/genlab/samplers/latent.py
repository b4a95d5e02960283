"""Pure functions that draw from a trained model: samples by seed and class, paths and sweeps through its latent
space, the latent manifold."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from ..errors import GenlabError
from ..models.capabilities import Decoder, Encoder, Model, Sampler
from ..ops import lerp, slerp
from ..progress import batch_count, tracked


def seeded(seed: int) -> torch.Generator:
    """A CPU generator: the same seed gives the same images on every device."""
    return torch.Generator().manual_seed(seed)


def class_labels(model: Model, label: int | None, n: int) -> Tensor | None:
    """n copies of ``label`` for a class-conditional model (None passes through); a clear error otherwise."""
    if label is None:
        return None
    classes = getattr(model, "num_classes", 0)
    if not classes:
        raise GenlabError("--label needs a class-conditional model (train with --set model.conditional=true)")
    if not 0 <= label < classes:
        raise GenlabError(f"--label must be in 0..{classes - 1}")
    return torch.full((n,), label, dtype=torch.long, device=model.device)


def path_labels(model: Model, label: int | None, n: int) -> Tensor | None:
    """Labels for images along one latent path: ``label``, or class 0 for a conditional model without one."""
    if label is None and getattr(model, "num_classes", 0):
        label = 0
    return class_labels(model, label, n)


def sample_labels(model: Model, label: int | None, start: int, count: int) -> Tensor | None:
    """Classes of samples start..start+count-1: ``label``, or cycling through the classes (sample i has class
    i mod classes) for a conditional model without one; None for an unconditional model."""
    if label is not None or not getattr(model, "num_classes", 0):
        return class_labels(model, label, count)
    return torch.arange(start, start + count, device=model.device) % model.num_classes


def domain_options(model: Model, domain: str | None) -> dict[str, str]:
    """``{"domain": domain}`` for a model with two domains (UNIT), ``{}`` without one; a clear line for a
    domain the model does not have."""
    domains = getattr(model, "domains", ())
    if domain is None:
        return {}
    if not domains:
        raise GenlabError(f"--domain is for models with two image domains (unit); {model.name!r} has one")
    if domain not in domains:
        raise GenlabError(f"--domain must be one of {', '.join(domains)}, got {domain!r}")
    return {"domain": domain}


def sample_batches(
    model: Sampler, n: int, seed: int = 0, batch_size: int = 500, label: int | None = None, domain: str | None = None
) -> Iterator[Tensor]:
    """n samples in [0, 1] on the CPU, yielded in batches of ``batch_size`` drawn one after the other from one
    CPU generator seeded once with ``seed``, classes as in ``sample_labels`` (in ``domain`` for a two-domain
    model). The same (n, seed, batch_size, label, domain) give the same samples on every run; a batch size of n
    or more gives ``sample_images``."""
    if n < 1:
        raise GenlabError(f"the number of samples (-n) must be at least 1, got {n}")
    if batch_size < 1:
        raise GenlabError(f"--batch-size must be at least 1, got {batch_size}")
    model.require("sample", "draw samples")
    class_labels(model, label, 1)  # checks --label now, not at the first batch
    options = domain_options(model, domain)
    batches = _batches(model, n, seeded(seed), batch_size, label, options)
    return tracked(batches, batch_count(n, batch_size), "samples")


@torch.no_grad()
def _batches(
    model: Sampler, n: int, generator: torch.Generator, batch_size: int, label: int | None, options: dict[str, str]
) -> Iterator[Tensor]:
    """The batches of ``sample_batches``, drawn lazily (one batch in memory at a time)."""
    for start in range(0, n, batch_size):
        count = min(batch_size, n - start)
        labels = sample_labels(model, label, start, count)
        extra = {} if labels is None else {"labels": labels}
        yield model.sample(count, generator=generator, **extra, **options).float().cpu()


def sample_images(model: Sampler, n: int, seed: int = 0, label: int | None = None, domain: str | None = None) -> Tensor:
    """n images in [0, 1] from the model, reproducible by seed; ``label`` picks a class when conditional
    (else a conditional model cycles through its classes); ``domain`` one of a two-domain model's."""
    return next(sample_batches(model, n, seed, batch_size=n, label=label, domain=domain))


@torch.no_grad()
def paired_samples(model: Decoder, n: int, seed: int = 0) -> Tensor:
    """[n, domains, C, H, W]: the same prior codes decoded into every domain of a shared-latent model (UNIT,
    Liu et al. 2017, Fig. 1): one row per code."""
    if not model.supports("decode_pair"):
        raise GenlabError(
            f"paired samples need a model with a latent space shared by two domains (unit), not {model.name!r}"
        )
    return model.decode_pair(model.prior_sample(n, generator=seeded(seed))).float().cpu()


@torch.no_grad()
def class_grid(model: Sampler, per_class: int = 8, seed: int = 0) -> Tensor:
    """A class-by-sample grid: row c holds ``per_class`` samples of class c (conditional models)."""
    classes = model.num_classes
    labels = torch.arange(classes, device=model.device).repeat_interleave(per_class)
    return model.sample(len(labels), generator=seeded(seed), labels=labels).float().cpu()


@torch.no_grad()
def interpolate_codes(a: Tensor, b: Tensor, steps: int, method: str = "slerp") -> Tensor:
    """steps codes from a to b inclusive, by lerp or slerp."""
    if steps < 2:
        raise GenlabError("--steps must be at least 2")
    t = torch.linspace(0, 1, steps, device=a.device)
    if method == "lerp":
        return lerp(a, b, t)
    if method == "slerp":
        return slerp(a, b, t)
    raise GenlabError(f"unknown interpolation {method!r}; use lerp or slerp")


@torch.no_grad()
def interpolate(
    model: Decoder, a: Tensor, b: Tensor, steps: int = 10, method: str = "slerp", label: int | None = None
) -> Tensor:
    """Decoded images along the path between codes a and b ([latent_dim] each), in one class if conditional."""
    model.require("decode", "interpolate in latent space")
    return decode_in_class(model, interpolate_codes(a, b, steps, method), label)


def decode_in_class(model: Decoder, codes: Tensor, label: int | None) -> Tensor:
    """Decode codes to CPU images; a conditional model draws them all in class ``label`` (default 0)."""
    labels = path_labels(model, label, len(codes))
    return (model.decode(codes) if labels is None else model.decode(codes, labels)).float().cpu()


@torch.no_grad()
def prior_codes(model: Decoder, seeds: list[int]) -> list[Tensor]:
    """One prior code per seed."""
    model.require("prior_sample", "draw latent codes")
    return [model.prior_sample(1, generator=seeded(s))[0] for s in seeds]


@torch.no_grad()
def encode_images(model: Encoder, images: Tensor) -> Tensor:
    """Codes of images in [0, 1] (prepared as in training)."""
    model.require("encode", "encode images")
    return model.encode(model.prepare(images.to(model.device)))


@torch.no_grad()
def traverse(
    model: Decoder, base: Tensor, dims: list[int], span: float = 3.0, steps: int = 9, label: int | None = None
) -> Tensor:
    """One row per latent dimension: base code with that dimension swept over [-span, span]."""
    model.require("decode", "traverse the latent space")
    latent = base.shape[0]
    bad = [d for d in dims if not 0 <= d < latent]
    if bad:
        raise GenlabError(f"latent dimension(s) {bad} out of range; the model has {latent}")
    values = torch.linspace(-span, span, steps, device=base.device)
    codes = base.repeat(len(dims) * steps, 1)
    for row, d in enumerate(dims):
        codes[row * steps : (row + 1) * steps, d] = values
    return decode_in_class(model, codes, label)


@torch.no_grad()
def manifold_grid(model: Decoder, steps: int = 20, label: int | None = None) -> Tensor:
    """Kingma & Welling (2014) Fig. 4: decode a grid of Gaussian quantiles of a 2-D latent space."""
    model.require("decode", "draw the latent manifold")
    if model.latent_dim != 2:
        raise GenlabError("the manifold grid needs a 2-D latent space (model.latent_dim=2)")
    probs = torch.linspace(0.5 / steps, 1 - 0.5 / steps, steps)
    values = torch.distributions.Normal(0.0, 1.0).icdf(probs)
    rows, cols = torch.meshgrid(values.flip(0), values, indexing="ij")
    codes = torch.stack([cols.flatten(), rows.flatten()], dim=1).to(model.device)
    return decode_in_class(model, codes, label)

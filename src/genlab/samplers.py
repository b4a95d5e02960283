"""Pure functions over a trained model: sample, interpolate, traverse the latent space, translate."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator

import torch
from torch import Tensor, nn

from .data import to_float, to_uint8
from .errors import GenlabError
from .models.capabilities import Decoder, Encoder, Model, Sampler, Translator
from .models.translator import check_direction
from .ops import lerp, slerp
from .progress import batch_count, tracked

__all__ = ["PNP_EPS", "PNP_MAX_STEP", "PlugAndPlayResult", "check_direction", "class_grid", "class_labels",
           "clip_norm", "decode_in_class", "domain_options", "encode_images", "interpolate", "interpolate_codes",
           "manifold_grid", "paired_samples", "path_labels", "plug_and_play", "prior_codes", "prior_score",
           "recorded_steps", "round_trip", "sample_batches", "sample_images", "sample_labels", "seeded", "traverse"]


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


def sample_batches(model: Sampler, n: int, seed: int = 0, batch_size: int = 500,
                   label: int | None = None, domain: str | None = None) -> Iterator[Tensor]:
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
def _batches(model: Sampler, n: int, generator: torch.Generator, batch_size: int,
             label: int | None, options: dict[str, str]) -> Iterator[Tensor]:
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
        raise GenlabError(f"paired samples need a model with a latent space shared by two domains (unit), "
                          f"not {model.name!r}")
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
def interpolate(model: Decoder, a: Tensor, b: Tensor, steps: int = 10, method: str = "slerp",
                label: int | None = None) -> Tensor:
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
def traverse(model: Decoder, base: Tensor, dims: list[int], span: float = 3.0, steps: int = 9,
             label: int | None = None) -> Tensor:
    """One row per latent dimension: base code with that dimension swept over [-span, span]."""
    model.require("decode", "traverse the latent space")
    latent = base.shape[0]
    bad = [d for d in dims if not 0 <= d < latent]
    if bad:
        raise GenlabError(f"latent dimension(s) {bad} out of range; the model has {latent}")
    values = torch.linspace(-span, span, steps, device=base.device)
    codes = base.repeat(len(dims) * steps, 1)
    for row, d in enumerate(dims):
        codes[row * steps:(row + 1) * steps, d] = values
    return decode_in_class(model, codes, label)


@torch.no_grad()
def manifold_grid(model: Decoder, steps: int = 20, label: int | None = None) -> Tensor:
    """Kingma & Welling (2014) Fig. 4: decode a grid of Gaussian quantiles of a 2-D latent space."""
    model.require("decode", "draw the latent manifold")
    if model.config.latent_dim != 2:
        raise GenlabError("the manifold grid needs a 2-D latent space (model.latent_dim=2)")
    probs = torch.linspace(0.5 / steps, 1 - 0.5 / steps, steps)
    values = torch.distributions.Normal(0.0, 1.0).icdf(probs)
    rows, cols = torch.meshgrid(values.flip(0), values, indexing="ij")
    codes = torch.stack([cols.flatten(), rows.flatten()], dim=1).to(model.device)
    return decode_in_class(model, codes, label)


@torch.no_grad()
def round_trip(model: Translator, images: Tensor, direction: str = "a2b") -> Tensor:
    """[N, 3, C, H, W] in [0, 1]: inputs, their translations, and those translated back (Zhu et al. Fig. 4);
    [N, 2, C, H, W] for a model that translates one way only (a refiner)."""
    check_direction(model, direction)
    return model.round_trip(images, direction)


@dataclass
class PlugAndPlayResult:
    """A Plug & Play run: final images and codes, and the chain at the recorded steps (step 0 and the last always)."""

    images: Tensor  # [n, C, H, W] in [0, 1], decoded from the final codes
    codes: Tensor  # [n, latent_dim] final h
    steps: list[int]  # the recorded step numbers
    log_probs: Tensor  # [len(steps), n]: the guide's log p(y=label | G(h)) at each recorded step
    chain: Tensor | None  # [len(steps), n, C, H, W] images at the recorded steps (with record_every), else None



@contextlib.contextmanager
def seeded_styles(model: Model, seed: int) -> Iterator[None]:
    """Inside, the global RNG (on the model's device) starts from ``seed``, so a translator with style codes
    draws the same styles each time; the caller's RNG state is restored after."""
    with torch.random.fork_rng(devices=[model.device] if model.device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


@torch.no_grad()
def translate_images(model: Translator, images: torch.Tensor, direction: str = "a2b", batch_size: int = 256,
                     seed: int = 0) -> torch.Tensor:
    """Images (uint8 or [0, 1], at the model's size and channels) -> translations as uint8 on the CPU, as
    8-bit image files would hold them; batch by batch, so 60k images never sit on the device at once. A
    translator with style codes draws them from ``seed``: the same call gives the same images."""
    check_direction(model, direction)
    with seeded_styles(model, seed):
        out = [to_uint8(model.translate(to_float(images[start:start + batch_size]).to(model.device), direction)).cpu()
               for start in tracked(range(0, len(images), batch_size), batch_count(len(images), batch_size),
                                    f"translate {direction}")]
    return torch.cat(out) if out else torch.empty(0, *images.shape[1:], dtype=torch.uint8)


@torch.no_grad()
def prior_score(model: Decoder, h: Tensor, prior: Any = None) -> Tensor:
    """The prior term of Nguyen et al. 2017, Eq. 5: R(h) - h of a code denoising autoencoder ``prior`` (PPGN-h), else
    d log p(h) / dh of the model's own prior: -(h - mu) / sigma^2 for the autoencoder's fitted normal, -h for
    the N(0, I) prior of VAEs and GANs."""
    if prior is not None:
        return prior.score(h)
    if hasattr(model, "code_mean") and hasattr(model, "code_var"):
        return -(h - model.code_mean) / model.code_var.clamp_min(1e-12)
    return -h


def guide_log_prob(model: Decoder, guide: nn.Module, h: Tensor, label: int,
                   options: dict[str, str]) -> tuple[Tensor, Tensor, Tensor]:
    """Images G(h), the guide's log p(y=label | G(h)) per chain, and its gradient in h (Eq. 5's condition term)."""
    with torch.enable_grad():
        h = h.detach().requires_grad_(True)
        images = model.render(h, **options)
        logits = guide(images)
        if not 0 <= label < logits.shape[1]:
            raise GenlabError(f"--label must be in 0..{logits.shape[1] - 1} (the guide's classes)")
        log_p = torch.log_softmax(logits.float(), 1)[:, label]
        grad, = torch.autograd.grad(log_p.sum(), h)  # only h gets a gradient: the networks stay untouched
    return images.detach(), log_p.detach(), grad


def clip_norm(step: Tensor, max_norm: float | None) -> Tensor:
    """Each chain's step scaled down to an L2 norm of at most ``max_norm`` (None: unchanged)."""
    if max_norm is None:
        return step
    norm = step.flatten(1).norm(dim=1).clamp_min(1e-12)
    return step * (max_norm / norm).clamp(max=1.0).view(-1, *[1] * (step.dim() - 1))


def _check_pnp(model: Decoder, steps: int, n: int, eps: tuple[float, ...], prior: Any) -> None:
    """One clear line for a model that cannot decode a code, a code prior of other codes, or bad options."""
    model.require("render", "generate by plug & play (it cannot decode a latent code)")
    if getattr(model, "points", False):
        raise GenlabError("plug & play needs an image model; this one makes 2-D points")
    if steps < 0 or n < 1:
        raise GenlabError(f"plug & play needs --steps >= 0 and -n >= 1, got {steps} and {n}")
    if min(eps[:3]) < 0:
        raise GenlabError(f"--eps1, --eps2 and --eps3 must be at least 0, got {eps[:3]}")
    if eps[3] is not None and eps[3] <= 0:
        raise GenlabError(f"--max-step must be above 0, got {eps[3]}")
    if prior is not None and not (hasattr(prior, "score") and same_weights(prior.source, model)):
        raise GenlabError("--prior must be a code-dae run trained on this model's codes (genlab train code-dae "
                          "--set model.source=RUN with this run)")


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    """Whether two modules hold the same tensors under the same names."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(sa[k].shape == sb[k].shape and torch.equal(sa[k].cpu(), sb[k].cpu())
                                          for k in sa)


def recorded_steps(steps: int, record_every: int | None) -> list[int]:
    """Step 0, every ``record_every``-th step and the last one (just the first and last without record_every)."""
    every = record_every if record_every and record_every > 0 else max(steps, 1)
    return sorted(set(range(0, steps + 1, every)) | {steps})


PNP_EPS = (0.01, 1.0, 0.1)  # eps1, eps2, eps3: tuned on the zoo's GAN and latent GAN (benchmarks/plug_and_play.py)
PNP_MAX_STEP = 0.3  # the condition term's largest step per chain: a raw first gradient can throw h far outside the
# prior, where a GAN's generator saturates and the chain stalls (latent GAN: 59% -> 89%, benchmarks/plug_and_play.py)


def plug_and_play(model: Decoder, guide: nn.Module, label: int, n: int = 64, steps: int = 200, eps1: float = PNP_EPS[0],
                  eps2: float = PNP_EPS[1], eps3: float = PNP_EPS[2], seed: int = 0,
                  record_every: int | None = None, domain: str | None = None, prior: Any = None,
                  max_step: float | None = PNP_MAX_STEP) -> PlugAndPlayResult:
    """Plug & Play sampling (Nguyen et al. 2017, Eq. 5): from n prior codes, iterate
    h <- h + eps1 d log p(h)/dh + eps2 d log p(y=label | G(h))/dh + N(0, eps3^2) for ``steps`` steps, the
    condition term clipped to an L2 norm of ``max_step`` per chain (None: unclipped, the plain equation).
    ``guide`` maps images in [0, 1] to class logits; the model and guide stay frozen and keep their modes;
    ``domain`` picks the decoder of a two-domain model (UNIT); ``prior`` a code-dae run's model for PPGN-h."""
    _check_pnp(model, steps, n, (eps1, eps2, eps3, max_step), prior)
    options = domain_options(model, domain)
    modes = [(m, m.training) for m in (model, guide, prior) if m is not None]
    try:
        for module, _ in modes:
            module.eval()
        return _chain(model, guide, label, n, steps, (eps1, eps2, eps3, max_step), seed,
                      recorded_steps(steps, record_every), record_every is not None, options, prior)
    finally:
        for module, mode in modes:
            module.train(mode)


def _chain(model: Decoder, guide: nn.Module, label: int, n: int, steps: int, eps: tuple[float, ...],
           seed: int, record: list[int], keep_images: bool, options: dict[str, str], prior: Any) -> PlugAndPlayResult:
    """The sampling loop of ``plug_and_play``: one decode and guide pass per step, recording as it goes."""
    generator = seeded(seed)
    h = model.prior_sample(n, generator=generator).float()
    log_probs, chain = [], []
    for t in range(steps + 1):
        images, log_p, grad = guide_log_prob(model, guide, h, label, options)
        if t in record:
            log_probs.append(log_p.cpu())
            chain.extend([images.cpu()] if keep_images else [])
        if t == steps:
            break
        noise = torch.randn(h.shape, generator=generator).to(h.device)
        h = h + eps[0] * prior_score(model, h, prior) + clip_norm(eps[1] * grad, eps[3]) + eps[2] * noise
    return PlugAndPlayResult(images.cpu(), h.cpu(), record, torch.stack(log_probs),
                             torch.stack(chain) if keep_images else None)

"""Plug & Play generation (Nguyen et al. 2017, PPGN): a chain over latent codes pulled toward a class by a
classifier's gradient and kept near the model's prior."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import GenlabError
from ..models.capabilities import Decoder
from .latent import domain_options, seeded


@dataclass
class PlugAndPlayResult:
    """A Plug & Play run: final images and codes, and the chain at the recorded steps (step 0 and the last always)."""

    images: Tensor  # [n, C, H, W] in [0, 1], decoded from the final codes
    codes: Tensor  # [n, latent_dim] final h
    steps: list[int]  # the recorded step numbers
    log_probs: Tensor  # [len(steps), n]: the guide's log p(y=label | G(h)) at each recorded step
    chain: Tensor | None  # [len(steps), n, C, H, W] images at the recorded steps (with record_every), else None


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


def guide_log_prob(
    model: Decoder, guide: nn.Module, h: Tensor, label: int, options: dict[str, str]
) -> tuple[Tensor, Tensor, Tensor]:
    """Images G(h), the guide's log p(y=label | G(h)) per chain, and its gradient in h (Eq. 5's condition term)."""
    with torch.enable_grad():
        h = h.detach().requires_grad_(True)
        images = model.render(h, **options)
        logits = guide(images)
        if not 0 <= label < logits.shape[1]:
            raise GenlabError(f"--label must be in 0..{logits.shape[1] - 1} (the guide's classes)")
        log_p = torch.log_softmax(logits.float(), 1)[:, label]
        (grad,) = torch.autograd.grad(log_p.sum(), h)  # only h gets a gradient: the networks stay untouched
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
        raise GenlabError(
            "--prior must be a code-dae run trained on this model's codes (genlab train code-dae "
            "--set model.source=RUN with this run)"
        )


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    """Whether two modules hold the same tensors under the same names."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(
        sa[k].shape == sb[k].shape and torch.equal(sa[k].cpu(), sb[k].cpu()) for k in sa
    )


def recorded_steps(steps: int, record_every: int | None) -> list[int]:
    """Step 0, every ``record_every``-th step and the last one (just the first and last without record_every)."""
    every = record_every if record_every and record_every > 0 else max(steps, 1)
    return sorted(set(range(0, steps + 1, every)) | {steps})


PNP_EPS = (0.01, 1.0, 0.1)  # eps1, eps2, eps3: tuned on the zoo's GAN and latent GAN (benchmarks/plug_and_play.py)
PNP_MAX_STEP = 0.3  # the condition term's largest step per chain: a raw first gradient can throw h far outside the
# prior, where a GAN's generator saturates and the chain stalls (latent GAN: 59% -> 89%, benchmarks/plug_and_play.py)


def plug_and_play(
    model: Decoder,
    guide: nn.Module,
    label: int,
    n: int = 64,
    steps: int = 200,
    eps1: float = PNP_EPS[0],
    eps2: float = PNP_EPS[1],
    eps3: float = PNP_EPS[2],
    seed: int = 0,
    record_every: int | None = None,
    domain: str | None = None,
    prior: Any = None,
    max_step: float | None = PNP_MAX_STEP,
) -> PlugAndPlayResult:
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
        return _chain(
            model,
            guide,
            label,
            n,
            steps,
            (eps1, eps2, eps3, max_step),
            seed,
            recorded_steps(steps, record_every),
            record_every is not None,
            options,
            prior,
        )
    finally:
        for module, mode in modes:
            module.train(mode)


def _chain(
    model: Decoder,
    guide: nn.Module,
    label: int,
    n: int,
    steps: int,
    eps: tuple[float, ...],
    seed: int,
    record: list[int],
    keep_images: bool,
    options: dict[str, str],
    prior: Any,
) -> PlugAndPlayResult:
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
    return PlugAndPlayResult(
        images.cpu(), h.cpu(), record, torch.stack(log_probs), torch.stack(chain) if keep_images else None
    )

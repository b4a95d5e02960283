"""Likelihood metrics: of models with an encoder the ELBO with active units and the importance-sampled NLL (Burda
et al. 2016); of diffusion models the probability-flow ODE's NLL in bits/dim (Song et al. 2021)."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..data import to_float
from ..metrics import active_units, elbo_terms, group_statistics, importance_sampled_nll
from .context import EvalContext
from .records import Metric, plus_minus, register_metric


def _elbo(ctx: EvalContext) -> dict[str, Any]:
    ctx.model.require("elbo_terms", "compute an ELBO")
    result = elbo_terms(ctx.model, ctx.data, seed=ctx.options.seed)
    if not ctx.model.supports("posterior_groups"):
        return {**result, **active_units(ctx.model, ctx.data)}
    groups = group_statistics(ctx.model, ctx.data)  # a hierarchy: every group's units, and each group's KL
    active = sum(g["active_units"] for g in groups)
    return {**result, "groups": groups, "active_units": active, "latent_dim": sum(g["dims"] for g in groups)}


def _elbo_rows(r: dict) -> list[tuple[str, str]]:
    """The ELBO, its two terms, bits/dim and active units; for a hierarchy, one line per latent group."""
    rows = [
        ("-ELBO (nats)", plus_minus(r["neg_elbo"], r["neg_elbo_stderr"])),
        ("  reconstruction (nats)", f"{r['recon']:.2f}"),
        ("  KL (nats)", f"{r['kl']:.2f}"),
        ("-ELBO (bits/dim)", f"{r['neg_elbo_bits_per_dim']:.4f}"),
        ("active units", f"{r['active_units']} / {r['latent_dim']}"),
    ]
    for i, group in enumerate(r.get("groups", [])):
        rows.append(
            (f"  group {i + 1} (top-down): KL, active", f"{group['kl']:.2f}, {group['active_units']} / {group['dims']}")
        )
    return rows


def _nll(ctx: EvalContext) -> dict[str, Any]:
    ctx.model.require("log_weights", "estimate an importance-sampled NLL")
    o = ctx.options
    return importance_sampled_nll(ctx.model, ctx.data, k=o.k, batch_size=o.batch_size, seed=o.seed)


FLOW_STEPS = 50  # Heun steps of the likelihood ODE (99 evaluations of the denoiser and its gradient per image)


def _flow_nll(ctx: EvalContext) -> dict[str, Any]:
    """-log P(x) in bits/dim of the split's images under the ODE, uniformly dequantized (an upper bound)."""
    ctx.model.require("log_likelihood", "give an ODE likelihood (it is not a diffusion model)")
    o, images = ctx.options, ctx.data.images
    generator = torch.Generator().manual_seed(o.seed)
    log_p = torch.cat(
        [
            ctx.model.log_likelihood(to_float(images[s : s + o.batch_size]), generator, FLOW_STEPS).cpu()
            for s in range(0, len(images), o.batch_size)
        ]
    )
    bits = -log_p / (images[0].numel() * math.log(2))
    stderr = bits.std().item() / math.sqrt(len(bits)) if len(bits) > 1 else None
    return {"bits_per_dim": bits.mean().item(), "bits_per_dim_stderr": stderr, "steps": FLOW_STEPS}


def _images_scored(r: dict) -> str:
    return f"({r['provenance']['images']} {r['provenance']['split']} images)"


register_metric(
    Metric(
        "elbo",
        _elbo,
        headline=("neg_elbo",),
        family="likelihood",
        needs=None,
        scores_data=True,
        spread={"neg_elbo": "neg_elbo_stderr"},
        note=_images_scored,
        note_group="likelihood",
        rows=_elbo_rows,
    )
)
register_metric(
    Metric(
        "nll",
        _nll,
        headline=("nll",),
        family="likelihood",
        needs=None,
        scores_data=True,
        spread={"nll": "nll_stderr"},
        note=_images_scored,
        note_group="likelihood",
        rows=lambda r: [
            (f"NLL, k={r['k']} (nats)", plus_minus(r["nll"], r["nll_stderr"])),
            ("NLL (bits/dim)", f"{r['bits_per_dim']:.4f}"),
        ],
    )
)
register_metric(
    Metric(
        "bpd",
        _flow_nll,
        headline=("bits_per_dim",),
        family="flow_likelihood",
        needs=None,
        scores_data=True,
        spread={"bits_per_dim": "bits_per_dim_stderr"},
        note=_images_scored,
        note_group="likelihood",
        rows=lambda r: [
            ("NLL, probability-flow ODE (bits/dim)", plus_minus(r["bits_per_dim"], r["bits_per_dim_stderr"], 4)),
            ("  Heun steps, dequantization", f"{r['steps']}, uniform"),
        ],
    )
)

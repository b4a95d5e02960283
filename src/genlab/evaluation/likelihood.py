"""Likelihood metrics of models with an encoder: the ELBO with active units, and the importance-sampled NLL
(Burda et al. 2016)."""

from __future__ import annotations

from typing import Any

from ..metrics import active_units, elbo_terms, importance_sampled_nll
from .context import EvalContext
from .records import Metric, plus_minus, register_metric


def _elbo(ctx: EvalContext) -> dict[str, Any]:
    ctx.model.require("elbo_terms", "compute an ELBO")
    result = elbo_terms(ctx.model, ctx.data, seed=ctx.options.seed)
    result.update(active_units(ctx.model, ctx.data))
    return result


def _nll(ctx: EvalContext) -> dict[str, Any]:
    ctx.model.require("log_weights", "estimate an importance-sampled NLL")
    o = ctx.options
    return importance_sampled_nll(ctx.model, ctx.data, k=o.k, batch_size=o.batch_size, seed=o.seed)


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
        rows=lambda r: [
            ("-ELBO (nats)", plus_minus(r["neg_elbo"], r["neg_elbo_stderr"])),
            ("  reconstruction (nats)", f"{r['recon']:.2f}"),
            ("  KL (nats)", f"{r['kl']:.2f}"),
            ("-ELBO (bits/dim)", f"{r['neg_elbo_bits_per_dim']:.4f}"),
            ("active units", f"{r['active_units']} / {r['latent_dim']}"),
        ],
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

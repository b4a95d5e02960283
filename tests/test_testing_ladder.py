"""The degradation ladder (genlab.testing.ladder): every default digit metric -- FID and KID under each shipped
network, precision/recall under digits-v2, the pyramid SWD -- must grow worse with the strength of noise, blur and
lost contrast on real digits (300 test digits against 1,000 training digits, seeded; the full ladder with 10,000
is benchmarks/degradation_ladder.py, its table in docs/metrics.md)."""

from __future__ import annotations

import functools

import pytest
import torch

from genlab.data import load_dataset, to_float
from genlab.metrics import fid, kid, precision_recall, swd
from genlab.metrics.extractors import load_extractor
from genlab.metrics.features import extract
from genlab.testing.ladder import LADDER, degraded, ladder_sets, shuffled

NETWORKS = ("digits-v2", "digits", "digits-check", "digits-plain")
pytestmark = pytest.mark.usefixtures("one_thread")


@functools.cache
def real_and_sets() -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """1,000 training digits, and 300 test digits clean and at every rung."""
    real = to_float(load_dataset("mnist", "train").images[:1000])
    sets = {"clean": to_float(load_dataset("mnist", "test").images[:300])}
    sets.update({f"{kind} {s:g}": degraded(sets["clean"], kind, s, seed=1) for kind in LADDER for s in LADDER[kind]})
    return real, sets


@functools.cache
def network_scores(network: str) -> dict[str, dict[str, float]]:
    """FID and KID of every rung under one network ({metric: {set name: value}}, "worse" meaning larger), and
    under the first network 1 - precision and 1 - recall too."""
    real, sets = real_and_sets()
    extractor = load_extractor(network)
    reference = extract(extractor, real)["features"]
    table: dict[str, dict[str, float]] = {}
    for name, images in sets.items():
        features = extract(extractor, images)["features"]
        table.setdefault(f"fid {network}", {})[name] = fid(reference, features)["fid"]
        table.setdefault(f"kid {network}", {})[name] = kid(reference, features, subsets=50)["kid"]
        if network == NETWORKS[0]:
            pr = precision_recall(reference, features)
            table.setdefault("1 - precision", {})[name] = 1 - pr["precision"]
            table.setdefault("1 - recall", {})[name] = 1 - pr["recall"]
    return table


@functools.cache
def scores(metric: str) -> dict[str, float]:
    """One metric's value at every rung; the networks' are computed once, when first asked for."""
    real, sets = real_and_sets()
    if metric == "swd":
        return {name: swd(real, images, per_image=16, projections=128)["swd"] for name, images in sets.items()}
    network = NETWORKS[0] if metric.startswith("1 - ") else metric.split()[1]
    return network_scores(network)[metric]


# the default network and the SWD in the fast tier; the other networks' ladders (same code, other weights) in the slow
METRICS = [
    pytest.param(f"{m} {n}", marks=[pytest.mark.slow] * (n != NETWORKS[0])) for n in NETWORKS for m in ("fid", "kid")
] + ["1 - recall", "swd"]


def ladder(values: dict[str, float], kind: str, with_clean: bool = True) -> list[float]:
    """A metric's values along one degradation, the clean set first."""
    return ([values["clean"]] if with_clean else []) + [values[f"{kind} {s:g}"] for s in LADDER[kind]]


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("kind", list(LADDER))
def test_a_default_metric_grows_with_every_degradation(metric, kind):
    values = ladder(scores(metric), kind)
    assert all(a < b for a, b in zip(values, values[1:])), f"{metric} along {kind}: {values}"


@pytest.mark.parametrize("kind", list(LADDER))
def test_precision_falls_with_the_strength_once_degraded(kind):
    """Its blind spot (docs/metrics.md): under digits-v2, mild blur or contrast does not lower precision at all."""
    values = ladder(scores("1 - precision"), kind, with_clean=kind == "noise")
    assert all(a < b for a, b in zip(values, values[1:])), f"1 - precision along {kind}: {values}"


def test_the_ladder_sets_keep_shape_range_and_pixels():
    images = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    sets = ladder_sets(images, seed=2)
    assert list(sets) == ["clean", "noise 0.1", "noise 0.2", "noise 0.3", "blur 1", "blur 2"] + [
        "contrast 0.75",
        "contrast 0.5",
        "shuffled",
    ]
    assert all(x.shape == images.shape and x.min() >= 0 and x.max() <= 1 for x in sets.values())
    assert torch.equal(sets["noise 0.1"], degraded(images, "noise", 0.1, seed=2))  # seeded
    assert torch.allclose(sets["contrast 0.5"], 0.25 + images / 2)  # gray background
    paired = torch.cat([images[:, :1], images[:, :1] / 2], dim=1)  # channel 1 is half of channel 0
    mixed = shuffled(paired, seed=2)
    assert torch.equal(mixed.flatten(2).sort(-1).values, paired.flatten(2).sort(-1).values)  # the same pixels ...
    assert not torch.equal(mixed, paired) and torch.equal(mixed[:, 1], mixed[:, 0] / 2)  # ... moved with their pixel
    with pytest.raises(ValueError, match="unknown degradation"):
        degraded(images, "rotate", 1.0)

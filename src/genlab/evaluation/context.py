"""The evaluation context: the model, its run config, the caller's options and what metrics share
(the feature network, real features, both domains), each computed once per evaluation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ..data import ImageData, default_extractor, has_domains, load_domains, load_split, parse_dataset, usages
from ..data import domain_names as data_domain_names
from ..errors import GenlabError
from ..samplers import sample_batches


@dataclass
class EvalOptions:
    """What the caller asks for (the keyword arguments of ``score``; ``genlab eval``'s options)."""

    k: int = 5000  # importance samples per image (nll)
    images: int | None = None  # first N images of the split (elbo, nll, parzen, cycle); None = all
    split: str = "test"
    batch_size: int = 100
    seed: int = 0
    parzen_samples: int = 10_000
    samples: int = 10_000  # generated (or translated) images for feature metrics
    mode_samples: int | None = None  # None: the protocol's (2,500 on toy2d, 26,000 on stackedmnist)
    extractor: Any = None  # a name, a classifier run, a .safetensors file or an nn.Module
    inception_weights: str | None = None
    reference_split: str = "test"
    reference_images: int | None = None

    def __post_init__(self) -> None:
        """One clear line for counts that cannot work, before any image is loaded."""
        checks = [
            (self.k >= 1, "-k must be at least 1"),
            (self.images is None or self.images >= 1, "--images must be at least 1"),
            (self.batch_size >= 1, "--batch-size must be at least 1"),
            (self.samples >= 2 and self.parzen_samples >= 2, "--samples must be at least 2"),
            (self.mode_samples is None or self.mode_samples >= 1, "mode samples must be at least 1"),
            (self.reference_images is None or self.reference_images >= 2, "reference images must be at least 2"),
        ]
        for ok, message in checks:
            if not ok:
                raise GenlabError(message)


@dataclass
class FeaturePair:
    """Real and generated features under one extractor, with what they were computed from."""

    real: Tensor
    fake: Tensor
    provenance: dict[str, Any]
    logits: Tensor | None = None


@dataclass
class EvalContext:
    """Everything one evaluation shares between its metrics."""

    model: Any
    config: Any
    options: EvalOptions
    metrics: list[str]
    data: ImageData | None = None  # the split, for metrics that score it (elbo, nll)
    quality: FeaturePair | None = None  # samples vs real images (fid, kid, pr, dc, is)
    translations: dict[str, FeaturePair] = field(default_factory=dict)  # per direction
    reference: ImageData | None = None  # the real images sample metrics compare with, loaded once
    reference_name: str = ""  # what they are, for provenance
    _extractor: nn.Module | None = None
    _domains: dict[str, tuple[ImageData, ImageData]] = field(default_factory=dict)

    def extractor(self, data_name: str) -> nn.Module:
        """The feature network, resolved once per evaluation, on the model's device."""
        if self._extractor is None:
            extractor = resolve_extractor(self.options.extractor, self.options.inception_weights, data_name)
            self._extractor = extractor.to(self.model.device).eval()
        return self._extractor

    def domains(self, split: str) -> tuple[ImageData, ImageData]:
        """Both domains of the run's split, each once (not repeated as in training), loaded once."""
        if split not in self._domains:
            d, m = self.config.data, self.config.model
            self._domains[split] = load_domains(
                parse_dataset(d.name)[1],
                split,
                data_dir=d.data_dir,
                image_size=m.image_size,
                channels=m.channels,
                test_fraction=d.test_fraction,
                seed=self.config.train.seed,
            )
        return self._domains[split]


SAMPLE_BATCH = 500  # samples drawn (and their features extracted) at once; part of what makes a score


def model_batches(model: Any, n: int, seed: int, batch_size: int = SAMPLE_BATCH) -> Iterator[Tensor]:
    """n samples of the model in batches (``sample_batches``: one generator seeded once), on the CPU; a set of
    stored images (``genlab eval SAMPLES --reference REF``) gives its first n in order."""
    stored = getattr(model, "stored_batches", None)
    return stored(n, batch_size) if stored is not None else sample_batches(model, n, seed, batch_size)


def draw_samples(model: Any, n: int, seed: int, batch_size: int = SAMPLE_BATCH) -> Tensor:
    """n samples from the model (``model_batches``), on the CPU."""
    return torch.cat(list(model_batches(model, n, seed, batch_size)))


def reference_images(ctx: EvalContext) -> ImageData:
    """The real images sample metrics compare with: the run's --reference-split (loaded once per evaluation, its
    first --reference-images), or the set ``genlab eval SAMPLES --reference REF`` names."""
    if ctx.reference is None:
        ctx.reference = load_split(ctx.config, ctx.options.reference_split, raw=True)
        ctx.reference_name = f"{ctx.config.data.name}:{ctx.options.reference_split}"
    return ctx.reference.head(ctx.options.reference_images)


def resolve_extractor(spec: Any, inception_weights: str | None, data_name: str) -> Any:
    """The feature network: Inception-v3 from its weights file, a named/saved extractor, or the default of the
    data (its spec's ``default_extractor``; of two-domain data, the one both domains share)."""
    if inception_weights:
        from ..nn.inception import load_inception

        return load_inception(inception_weights)
    from ..metrics.extractors import load_extractor

    if spec is None:
        spec = default_extractor(data_name)
    if not spec:
        raise GenlabError(
            f"no offline feature extractor for {data_name!r}: pass --inception-weights "
            "pt_inception-2015-12-05-6726825d.pth, or --extractor digits-v2|digits|CLASSIFIER_RUN"
        )
    return load_extractor(spec)


def domain_names(config: Any) -> tuple[str, str]:
    """The dataset names of the two domains of a run trained on two-domain data (``unpaired:A,B``)."""
    name = config.data.name
    if not has_domains(name):
        two = usages(lambda spec: spec.domains is not None)
        raise GenlabError(f"translation metrics need a run trained on two-domain data ({two}), not {name!r}")
    a, b = data_domain_names(name)
    return a, b

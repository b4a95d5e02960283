"""The splits of a run's data, as its config describes them (binarization included)."""

from __future__ import annotations

from typing import Any

from ..errors import GenlabError
from .catalog import dataset_spec, load_dataset
from .images import ImageData, check_binarize
from .spec import DatasetSpec

TEST_BINARIZATION_SEED = 0  # every run is scored on the same once-binarized test set


def resolve_binarize(config: Any) -> None:
    """data.binarize=auto: dynamic for near-binary data (MNIST; its spec says ``binary``) with a Bernoulli (or auto)
    likelihood, none otherwise."""
    data = config.data
    if data.binarize == "auto":
        likelihood = getattr(config.model, "likelihood", None)  # models without one (GANs) see real values
        binary = spec_of(data.name).binary and likelihood in ("auto", "bernoulli")
        data.binarize = "dynamic" if binary else "none"
    check_binarize(data.binarize)


def spec_of(name: str) -> DatasetSpec:
    """The spec of a run's data name, an unknown one named as the setting it came from."""
    try:
        return dataset_spec(name)
    except GenlabError as e:
        raise GenlabError(f"data.name: {e}") from None


def load_split(config: Any, split: str, raw: bool = False, for_eval: bool = False) -> ImageData:
    """One split as the config describes it: the training split as trained on (dynamic binarization
    happens per batch), other splits -- and every split ``for_eval`` -- binarized once with a fixed seed;
    ``raw`` skips binarization."""
    d, m = config.data, config.model
    data = load_dataset(
        d.name,
        split,
        data_dir=d.data_dir,
        image_size=getattr(m, "image_size", 0),
        channels=getattr(m, "channels", 0),
        test_fraction=d.test_fraction,
        seed=config.train.seed,
        stream=d.stream,
        workers=d.workers,
    )
    if raw or d.binarize == "none":
        return data
    if split == d.train_split and not for_eval:
        return data.binarized(TEST_BINARIZATION_SEED + 1) if d.binarize == "static" else data
    return data.binarized(TEST_BINARIZATION_SEED)


def load_splits(config: Any) -> tuple[ImageData, ImageData]:
    """Train and test data; dynamic binarization of the training set happens per batch."""
    return load_split(config, config.data.train_split).head(config.data.limit), load_split(config, "test")

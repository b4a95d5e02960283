"""Property-based tests of genlab's user-input paths (hypothesis): a user mistake -- a bad ``--set`` value, a
corrupt image, a damaged run folder -- gives a one-line GenlabError and never another exception, and valid
input works (docs/reliability.md)."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import math
import shutil
import tempfile
import types
import typing
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st
from PIL import Image

import genlab.evaluation
from genlab.apps.cli import main
from genlab.apps.compare import compare_runs
from genlab.apps.testing import run_cli
from genlab.config import DataConfig, RunConfig, TrainConfig, apply_overrides
from genlab.data import resolve_binarize
from genlab.data.folder import load_folder, read_image, read_images
from genlab.data.images import BINARIZE_MODES
from genlab.devices import MEMORY_FORMATS, PRECISIONS
from genlab.errors import GenlabError
from genlab.evaluation import METRICS
from genlab.models import build_model, default_config, model_names, run_config
from genlab.runs import (
    CHECKSUMS,
    WEIGHTS,
    checkpoint_dir,
    load_config,
    load_run,
    load_train_state,
    recover_checkpoint,
    resolve_model_config,
)
from genlab.testing import TINY, run_weights, synthetic_images
from genlab.training import validate
from genlab.training.step import LR_SCHEDULES

pytestmark = pytest.mark.usefixtures("one_thread")

CHEAP = settings(max_examples=60, deadline=None)
PER_FIELD = settings(max_examples=50, deadline=None)  # each option of a parametrized property
RUN_FOLDER = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def show(**inputs: typing.Any) -> None:
    """Print a property's inputs with a failure (this hypothesis prints ``arg=`` blank in its own report)."""
    note("inputs: " + ", ".join(f"{k}={v!r}" for k, v in inputs.items()))


def outcomes(
    check: typing.Callable[..., bool],
    config: settings,
    examples: typing.Sequence[dict] = (),
    **strategies: st.SearchStrategy,
) -> Counter:
    """Run ``check`` as a hypothesis property over ``strategies`` (and the explicit ``examples``) and count what
    it returned: True where the input worked, False where it was refused in one line. A property of the form
    "works, or fails in one line" checks the counts, so that one refusing every input cannot pass."""
    counts: Counter = Counter()

    def count(**inputs: typing.Any) -> None:
        counts["worked" if check(**inputs) else "refused"] += 1

    run = given(**strategies)(count)
    for inputs in examples:
        run = example(**inputs)(run)
    config(run)()
    return counts


def one_line(error: BaseException) -> str:
    """The message of a user error, checked to be one line."""
    message = str(error)
    assert message.strip() and "\n" not in message and "\r" not in message, repr(message)
    return message


# --------------------------------------------------------------------------------------------------------------
# 1. Config values: `genlab train --set key=value`


def fields_of(section: str, cls: type) -> list[tuple[str, typing.Any]]:
    hints = typing.get_type_hints(cls)
    return [(f"{section}.{f.name}", hints[f.name]) for f in dataclasses.fields(cls)]


VAE_CONFIG = type(default_config("vae").model)
TRAIN_DATA_FIELDS = fields_of("train", TrainConfig) + fields_of("data", DataConfig)
MODEL_FIELDS = fields_of("model", VAE_CONFIG)
ANNOTATIONS = dict(TRAIN_DATA_FIELDS + MODEL_FIELDS)

CHOICES = {
    "train.lr_schedule": LR_SCHEDULES,
    "train.precision": PRECISIONS,
    "train.memory_format": MEMORY_FORMATS,
    "train.on_diverge": ("rollback", "stop"),
    "data.binarize": (*BINARIZE_MODES, "auto"),
    "train.eval_metrics": ("fid,kid", "elbo", "nll", "elbo,nll", "fid", "nope"),
    "model.activation": ("elu", "relu", "leaky_relu", "silu"),
    "model.likelihood": ("auto", "bernoulli", "gaussian", "gaussian_learned"),
}
DEVICE_WORDS = ("auto", "cpu", "cuda", "cuda:0", "cuda:1", "mps", "cpu:1", "meta", "xpu", "hpu", "cuda:-1", "gpu")
WORDS = (
    (
        "",
        " ",
        "none",
        "None",
        "null",
        "NULL",
        "true",
        "false",
        "True",
        "yes",
        "no",
        "0",
        "1",
        "-1",
        "-0",
        "+3",
        " 7 ",
        "0x10",
        "1_000",
        "1e3",
        "1e-4",
        "nan",
        "-nan",
        "inf",
        "-inf",
        "1e309",
        "--5",
        "²",
        "٣",
        "4,",
        ",",
        "0.5,0.999",
        "2,3",
        "0.9, 0.999",
        "0.5,,0.9",
        "1,2,3",
    )
    + DEVICE_WORDS
    + tuple(w for choices in CHOICES.values() for w in choices)
)

numbers = st.one_of(
    st.integers().map(str),
    st.integers(min_value=2**62).map(lambda i: str(i) if i % 2 else f"-{i}"),
    st.floats().map(repr),
    st.floats().map(lambda f: f"{f:e}"),
)
lists = st.lists(
    st.one_of(st.integers(-3, 300).map(str), st.floats(-2, 2).map(repr), st.text(max_size=3)), max_size=4
).flatmap(lambda items: st.sampled_from([",".join(items), ", ".join(items)]))
values = st.one_of(st.sampled_from(WORDS), numbers, lists, st.text(max_size=20))


def conforms(value: typing.Any, annotation: typing.Any) -> bool:
    """Whether ``value`` has the field's annotated type (exactly: no bool for int, no int for float)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return value is None or conforms(value, inner[0])
    if origin is tuple:
        return isinstance(value, tuple) and all(conforms(v, typing.get_args(annotation)[0]) for v in value)
    return type(value) is annotation


def in_range(key: str, v: typing.Any) -> bool:
    """The documented range or choices of a training/data option (config.py comments, docs)."""
    ranges = {
        "train.epochs": lambda: v >= 1,
        "train.batch_size": lambda: v >= 1,
        "train.lr": lambda: math.isfinite(v) and v > 0,
        "train.betas": lambda: len(v) == 2 and all(0 <= b < 1 for b in v),
        "train.lr_min_ratio": lambda: 0 <= v <= 1,  # the schedules end at lr * lr_min_ratio
        "train.seed": lambda: 0 <= v < 2**32,  # seeds of every generator, and their sums with the epoch, fit
        "train.device": lambda: v == "auto" or torch.device(v).type in ("cpu", "cuda", "mps"),
        "train.max_steps": lambda: v is None or v >= 1,
        "train.eval_images": lambda: v >= 0,
        "train.grid_size": lambda: v >= 1,
        "train.eval_every": lambda: v >= 0,
        "train.eval_samples": lambda: v >= 2,
        "train.max_nonfinite": lambda: v >= 1,
        "train.max_rollbacks": lambda: v >= 0,
        "train.checkpoint_every": lambda: v >= 0,
        "train.checkpoint_minutes": lambda: v >= 0,  # inf: never by time, like 0
        "data.limit": lambda: v is None or v >= 1,
        "data.test_fraction": lambda: 0 <= v < 1,
        "data.binarize": lambda: v in BINARIZE_MODES,  # auto is resolved before validation
    }
    if key in CHOICES and key != "data.binarize" and key != "train.eval_metrics":
        return v in CHOICES[key]
    return ranges.get(key, lambda: True)()


def valid_values(key: str) -> tuple[st.SearchStrategy, list[dict]]:
    """Values of ``key`` that must be accepted, as a user writes them (VALID's), and an example that always
    runs: its default value."""
    section, name = key.split(".")
    default = getattr(getattr(default_config("vae", "tiny"), section), name)
    return VALID.get(key, st.just(default)).map(as_override), [{"value": as_override(default)}]


def set_value_works(key: str, value: str) -> bool:
    """parse (apply_overrides) + validation (resolve_binarize, validate: what `genlab train` runs before any
    write) either give the field its annotated type inside its documented range, or one line naming the key."""
    show(key=key, value=value)
    config = default_config("vae", "tiny")
    try:
        apply_overrides(config, [f"{key}={value}"])
        resolve_binarize(config)
        validate(config)
    except GenlabError as e:
        assert key in one_line(e)
        return False
    section, name = key.split(".")
    v = getattr(getattr(config, section), name)
    assert conforms(v, ANNOTATIONS[key]), (key, value, v)
    assert in_range(key, v), (key, value, v)
    return True


@pytest.mark.parametrize("key", [k for k, _ in TRAIN_DATA_FIELDS])
def test_a_set_value_is_validated_into_its_type_and_range_or_named_in_one_line(key):
    valid, default = valid_values(key)
    counts = outcomes(functools.partial(set_value_works, key), PER_FIELD, default, value=values | valid)
    assert counts["worked"], counts  # the valid values among them pass


# found by the property above; kept as plain examples so they always run
@pytest.mark.parametrize("setting", ["train.epochs=²", "train.epochs=--5", "data.limit=" + "9" * 5000])
def test_odd_digits_in_an_int_value_are_a_one_line_error(setting):
    with pytest.raises(GenlabError, match=setting.split("=")[0]) as info:
        apply_overrides(default_config("vae"), [setting])
    one_line(info.value)


def model_value_works(key: str, value: str) -> bool:
    show(key=key, value=value)
    config = default_config("vae", "tiny")
    try:
        apply_overrides(config, [f"{key}={value}"])
    except GenlabError as e:
        assert key in one_line(e)
        return False
    assert conforms(getattr(config.model, key.split(".")[1]), ANNOTATIONS[key]), (key, value)
    return True


@pytest.mark.parametrize("key", [k for k, _ in MODEL_FIELDS])
def test_a_model_value_parses_into_its_type_or_is_named_in_one_line(key):
    valid, default = valid_values(key)
    counts = outcomes(functools.partial(model_value_works, key), PER_FIELD, default, value=values | valid)
    assert counts["worked"], counts


small_values = st.one_of(
    st.integers(-3, 48).map(str),
    st.sampled_from(WORDS),
    lists.filter(lambda s: len(s) < 12),
    st.floats(-2, 2).map(repr),
    st.text(max_size=6),
)


def model_builds(settings_: list[tuple[str, str]]) -> bool:
    """Model options are checked when the model is built (after the data resolves the config): a model, or one
    line. Sizes stay small here so that no example allocates much."""
    show(settings_=settings_)
    config = default_config("vae", "tiny")
    try:
        apply_overrides(config, [f"{k}={v}" for k, v in settings_])
        resolve_binarize(config)
        resolve_model_config(config, synthetic_images(4, 1, 16))
        model = build_model(config.model_name, config.model)
    except GenlabError as e:
        one_line(e)
        return False
    assert isinstance(model, torch.nn.Module) and sum(p.numel() for p in model.parameters()) > 0
    return True


def test_model_values_build_a_model_or_fail_in_one_line():
    settings_ = st.lists(st.tuples(st.sampled_from([k for k, _ in MODEL_FIELDS]), small_values), max_size=3)
    examples = [
        {"settings_": []},
        {"settings_": [("model.hidden", "-1")]},
        {"settings_": [("model.latent_dim", "-2"), ("model.conditional", "true")]},
    ]
    counts = outcomes(model_builds, CHEAP, examples, settings_=settings_)
    assert counts["worked"] and counts["refused"], counts


@pytest.mark.parametrize("setting", ["model.hidden=-1", "model.widths=8,-16", "model.latent_dim=-2"])
def test_a_negative_size_is_refused_in_one_line_naming_it(setting):
    config = apply_overrides(default_config("vae", "tiny"), [setting])
    with pytest.raises(GenlabError, match=setting.split("=")[0] + " cannot be negative") as info:
        resolve_model_config(config, synthetic_images(4, 1, 16))
        build_model(config.model_name, config.model)
    one_line(info.value)


reserved = set(ANNOTATIONS)
keys = st.tuples(
    st.sampled_from(["model", "data", "train", "optim", "", "Train", " train"]),
    st.text(alphabet=st.characters(exclude_characters="="), max_size=12),
)


@settings(max_examples=150, deadline=None)
@given(key=keys, value=values)
def test_unknown_keys_are_named_in_one_line(key, value):
    show(key=key, value=value)
    dotted = f"{key[0]}.{key[1]}"
    section, _, name = dotted.strip().partition(".")
    if f"{section}.{name}" in reserved:
        return
    with pytest.raises(GenlabError) as info:
        apply_overrides(default_config("vae"), [f"{dotted}={value}"])
    assert repr(dotted) in one_line(info.value)


@CHEAP
@given(item=st.text(alphabet=st.characters(exclude_characters="="), max_size=20))
def test_an_override_without_a_value_is_a_one_line_error(item):
    show(item=item)
    with pytest.raises(GenlabError, match="must look like section.key=value") as info:
        apply_overrides(default_config("vae"), [item])
    one_line(info.value)


finite = st.floats(allow_nan=False, allow_infinity=False)
text_value = st.text(max_size=12)
VALID = {  # valid values of every training and data option (and of the VAE's)
    "train.epochs": st.integers(1, 10**6),
    "train.batch_size": st.integers(1, 10**5),
    "train.lr": st.floats(1e-12, 10.0),
    "train.betas": st.tuples(st.floats(0, 0.999), st.floats(0, 0.999)),
    "train.lr_schedule": st.sampled_from(LR_SCHEDULES),
    "train.lr_min_ratio": st.floats(0, 1),
    "train.seed": st.integers(0, 2**31),
    "train.device": st.sampled_from(["auto", "cpu"]),
    "train.precision": st.sampled_from(PRECISIONS),
    "train.memory_format": st.sampled_from(MEMORY_FORMATS),
    "train.compile": st.booleans(),
    "train.tensorboard": st.booleans(),
    "train.max_steps": st.none() | st.integers(1, 10**9),
    "train.eval_images": st.integers(0, 10**6),
    "train.grid_size": st.integers(1, 256),
    "train.eval_every": st.integers(0, 100),
    "train.eval_metrics": st.sampled_from(["fid,kid", "elbo,nll"]),
    "train.eval_samples": st.integers(2, 10**6),
    "train.max_nonfinite": st.integers(1, 100),
    "train.on_diverge": st.sampled_from(["rollback", "stop"]),
    "train.max_rollbacks": st.integers(0, 10),
    "train.checkpoint_every": st.integers(0, 10**6),
    "train.checkpoint_minutes": st.floats(0, 1e6),
    "data.name": st.sampled_from(["mnist", "mnistm", "folder:/tmp/x y", "unpaired:a,b"]),
    "data.binarize": st.sampled_from(BINARIZE_MODES),
    "data.train_split": st.sampled_from(["train", "train50k"]),
    "data.data_dir": st.none() | text_value.filter(lambda s: s.lower() not in ("none", "null")),
    "data.limit": st.none() | st.integers(1, 10**9),
    "data.test_fraction": st.floats(0, 0.999),
    "model.image_size": st.integers(0, 64),
    "model.channels": st.integers(0, 4),
    "model.widths": st.lists(st.integers(1, 64), min_size=1, max_size=4).map(tuple),
    "model.hidden": st.integers(1, 512),
    "model.latent_dim": st.integers(1, 64),
    "model.activation": st.sampled_from(CHOICES["model.activation"]),
    "model.likelihood": st.sampled_from(CHOICES["model.likelihood"]),
    "model.gaussian_std": st.floats(1e-6, 10),
    "model.conditional": st.booleans(),
    "model.num_classes": st.integers(0, 100),
    "model.beta": st.floats(0, 100),
    "model.kl_warmup_steps": st.integers(0, 10**6),
    "model.iw_samples": st.just(1),
}


@st.composite
def valid_configs(draw) -> RunConfig:
    """Valid values for every option in VALID; options added since keep their defaults."""
    config = default_config("vae")
    for key in sorted(VALID.keys() & ANNOTATIONS.keys()):
        section, name = key.split(".")
        setattr(getattr(config, section), name, draw(VALID[key]))
    return config


def as_override(v: typing.Any) -> str:
    """How a user writes a value on the command line."""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, tuple):
        return ",".join(as_override(x) for x in v)
    if v is None:
        return "none"
    return repr(v) if isinstance(v, float) else str(v)


@settings(max_examples=50, deadline=None)
@given(config=valid_configs())
def test_a_valid_config_round_trips_through_json_and_through_set(config):
    show(config=config)
    resolve_binarize(config)
    validate(config)  # the strategies above only make valid values
    again = run_config(json.loads(config.to_json()))
    assert again == config
    assert RunConfig.from_dict(config.to_dict(), VAE_CONFIG) == config
    typed = default_config("vae")
    apply_overrides(
        typed,
        [
            f"{key}={as_override(getattr(getattr(config, key.split('.')[0]), key.split('.')[1]))}"
            for key in sorted(ANNOTATIONS)
        ],
    )
    assert typed == config


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 48) | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
section_dicts = st.one_of(
    json_values, st.dictionaries(st.sampled_from(sorted(k.split(".")[1] for k in ANNOTATIONS)), json_values, max_size=3)
)


def config_dict_reads(d: dict) -> bool:
    show(d=d)
    try:
        config = run_config(d)
    except GenlabError as e:
        one_line(e)
        return False
    assert isinstance(config, RunConfig) and config.model_name == d["model_name"]
    for key, annotation in fields_of("train", TrainConfig) + fields_of("data", DataConfig):
        assert conforms(getattr(getattr(config, key.split(".")[0]), key.split(".")[1]), annotation), key
    return True


def test_a_config_dict_read_from_disk_is_a_config_or_a_one_line_error():
    d = st.fixed_dictionaries(
        {"model_name": st.sampled_from(model_names()) | json_values},
        optional={"model": section_dicts, "data": section_dicts, "train": section_dicts, "genlab_version": json_values},
    )
    examples = [
        {"d": {"model_name": []}},
        {"d": {"model_name": {"vae": 1}}},
        {"d": default_config("gan").to_dict()},
        {"d": {"model_name": "vae"}},
    ]
    counts = outcomes(config_dict_reads, settings(max_examples=150, deadline=None), examples, d=d)
    assert counts["worked"] and counts["refused"], counts


# --------------------------------------------------------------------------------------------------------------
# 2. Images: read_images (named files: a bad one is an error) and load_folder (a bad one is skipped)

MAGIC = [
    b"",
    b"\x89PNG\r\n\x1a\n",
    b"GIF89a",
    b"GIF87a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"\xff\xd8\xff\xe0",
    b"RIFF\x00\x01\x00\x00WEBPVP8 ",
    b"P5\n4 4\n255\n",
    b"\x00\x00\x01\x00",
]
GRAY_SOURCES = {"L", "I;16", "1", "LA"}


def encode(mode: str, width: int, height: int, fmt: str, rng: np.random.Generator) -> bytes:
    """A random image of ``mode`` as ``fmt`` file bytes."""
    if mode == "I;16":
        img = Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16))
    elif mode == "P":
        img = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).quantize(16)
    else:
        channels = {"L": 1, "1": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
        arr = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
        img = Image.fromarray(arr[..., 0] if channels == 1 else arr).convert(mode)
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


formats_of = {
    "L": ["PNG", "JPEG", "BMP", "GIF", "TIFF"],
    "RGB": ["PNG", "JPEG", "BMP", "TIFF", "WEBP"],
    "RGBA": ["PNG", "TIFF", "WEBP"],
    "P": ["PNG", "GIF", "BMP"],
    "I;16": ["PNG", "TIFF"],
    "1": ["PNG", "BMP"],
    "LA": ["PNG"],
}
images = st.sampled_from(sorted(formats_of)).flatmap(
    lambda mode: st.tuples(
        st.just(mode),
        st.integers(1, 64),
        st.integers(1, 64),
        st.sampled_from(formats_of[mode]),
        st.integers(0, 2**32 - 1),
    )
)


@st.composite
def hostile_bytes(draw, intact: bool = False) -> bytes:
    """Random bytes, random bytes behind a format's magic number, or a valid image truncated or bit-flipped
    (``intact``: or the valid image itself)."""
    kind = draw(st.sampled_from(["random", "magic", "damaged"] + ["intact"] * intact))
    if kind == "random":
        return draw(st.binary(max_size=2048))
    if kind == "magic":
        return draw(st.sampled_from(MAGIC)) + draw(st.binary(max_size=512))
    mode, w, h, fmt, seed = draw(images)
    data = bytearray(encode(mode, w, h, fmt, np.random.default_rng(seed)))
    if kind == "intact":
        return bytes(data)
    if draw(st.booleans()):
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    for _ in range(draw(st.integers(1, 6))):
        data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    return bytes(data)


def image_bytes_decode(data: bytes, size: int, channels: int, suffix: str) -> bool:
    show(data=data, size=size, channels=channels, suffix=suffix)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"image{suffix}"
        path.write_bytes(data)
        try:
            x = read_images([str(path)], size, channels)
        except GenlabError as e:
            assert str(path) in one_line(e)
            return False
        assert x.shape == (1, channels, size, size) and x.dtype == torch.float32
        assert torch.isfinite(x).all() and x.min() >= 0 and x.max() <= 1
    return True


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's metadata warnings on hostile TIFF headers
def test_any_bytes_named_as_an_image_decode_or_give_one_line():
    png = encode("RGB", 5, 7, "PNG", np.random.default_rng(0))
    examples = [
        {"data": png, "size": 8, "channels": 1, "suffix": ".png"},
        {"data": png[:20], "size": 8, "channels": 3, "suffix": ".png"},
    ]
    counts = outcomes(
        image_bytes_decode,
        settings(max_examples=150, deadline=None),
        examples,
        data=hostile_bytes(intact=True),
        size=st.integers(1, 48),
        channels=st.sampled_from([1, 3]),
        suffix=st.sampled_from([".png", ".jpg", ".gif", ".bmp", ".tif", ".webp", ""]),
    )
    assert counts["worked"] and counts["refused"], counts


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=60, deadline=None)
@given(bad=st.lists(hostile_bytes(), min_size=1, max_size=3), good=images, size=st.integers(1, 32))
def test_a_folder_skips_what_it_cannot_decode_and_keeps_the_rest(bad, good, size):
    show(bad=bad, good=good, size=size)
    mode, w, h, fmt, seed = good
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stderr(io.StringIO()) as err:
        folder = Path(tmp)
        (folder / f"good.{fmt.lower()}").write_bytes(encode(mode, w, h, fmt, np.random.default_rng(seed)))
        (folder / "sub").mkdir()
        for i, raw in enumerate(bad):
            (folder / "sub" / f"bad{i}.png").write_bytes(raw)
        data = load_folder(str(folder), size)
    assert 1 <= len(data) <= 1 + len(bad) and data.images.dtype == torch.uint8
    assert data.images.shape[1:] in ((1, size, size), (3, size, size))
    assert len(data) == 1 + len(bad) or "unreadable" in err.getvalue()
    assert err.getvalue().count("\n") <= 1


@settings(max_examples=100, deadline=None)
@given(image=images, size=st.integers(1, 64))
def test_a_valid_image_reads_at_the_asked_size(image, size):
    show(image=image, size=size)
    mode, w, h, fmt, seed = image
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"x.{fmt.lower()}"
        path.write_bytes(encode(mode, w, h, fmt, np.random.default_rng(seed)))
        arr, color = read_image(path, size)
        assert arr.shape == (size, size, 3) and arr.dtype == np.uint8
        if mode in GRAY_SOURCES and fmt != "GIF":  # GIF stores gray as a palette
            assert not color and (arr == arr[..., :1]).all()  # gray files stay gray in all three channels
        elif mode in ("RGB", "RGBA"):
            assert color
        for channels in (1, 3):
            x = read_images([str(path)], size, channels)
            assert x.shape == (1, channels, size, size) and x.dtype == torch.float32
            assert x.min() >= 0 and x.max() <= 1


@settings(max_examples=100, deadline=None)
@given(
    mode=st.sampled_from(["L", "RGB", "RGBA", "I;16"]),
    w=st.integers(1, 64),
    h=st.integers(1, 64),
    size=st.integers(1, 64),
    fmt=st.sampled_from(["PNG", "JPEG", "TIFF"]),
    rgba=st.tuples(*[st.integers(0, 255)] * 4),
    deep=st.integers(256, 65535),
)
def test_a_uniform_image_keeps_its_color(mode, w, h, size, fmt, rgba, deep):
    """Resizing keeps a flat color; transparency is composited on white; 16-bit values are scaled to 8 bits."""
    show(mode=mode, w=w, h=h, size=size, fmt=fmt, rgba=rgba, deep=deep)
    if fmt == "JPEG" and mode not in ("L", "RGB") or fmt != "PNG" and mode == "I;16":
        fmt = "PNG"
    r, g, b, a = rgba
    if mode == "I;16":
        img, expected = Image.fromarray(np.full((h, w), deep, np.uint16)), [deep * 255 / 65535] * 3
    elif mode == "L":
        img, expected = Image.new("L", (w, h), r), [r] * 3
    elif mode == "RGB":
        img, expected = Image.new("RGB", (w, h), (r, g, b)), [r, g, b]
    else:
        img, expected = Image.new("RGBA", (w, h), rgba), [c * a / 255 + 255 * (1 - a / 255) for c in (r, g, b)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"x.{fmt.lower()}"
        img.save(path, fmt)
        arr, _ = read_image(path, size)
    tolerance = 3 if fmt == "JPEG" else 1
    assert np.abs(arr.astype(float) - np.array(expected)).max() <= tolerance, (arr[0, 0], expected)


# --------------------------------------------------------------------------------------------------------------
# 3. Damaged run folders: load_run, load_config, load_train_state, `genlab sample`, compare

CKPT_FILES = [
    "checkpoint/model.safetensors",
    "checkpoint/config.json",
    "checkpoint/train_state.pt",
    "checkpoint/checksums.json",
]
ROOT_FILES = ["config.json", "metrics.jsonl", "eval.json"]
JSON_FILES = {"checkpoint/config.json", "checkpoint/checksums.json", "config.json", "eval.json", "metrics.jsonl"}
DELETE = "<delete>"


@pytest.fixture(scope="module")
def scored_run(tiny_run, tmp_path_factory):
    """The tiny run with an eval.json."""
    run = shutil.copytree(tiny_run, tmp_path_factory.mktemp("props") / "run")
    genlab.evaluation.evaluate(run, ["elbo"], images=20, device="cpu")
    return Path(run)


def pick(container: typing.Any, selector: typing.Any) -> typing.Any:
    """The key or index a path element names: a name, or an integer taken modulo the keys."""
    if isinstance(container, dict):
        if isinstance(selector, str):
            return selector
        return sorted(container)[selector % len(container)]
    return selector % len(container) if isinstance(selector, int) else 0


def mutate(doc: typing.Any, path: tuple, value: typing.Any) -> typing.Any:
    """``doc`` with the element at ``path`` set to ``value`` (or deleted)."""
    parent, key, current = None, None, doc
    for selector in path:
        if not isinstance(current, (dict, list)) or not current:
            break
        parent, key = current, pick(current, selector)
        current = current.get(key) if isinstance(current, dict) else current[key]
    if parent is None:
        return value if value != DELETE else {}
    if value == DELETE:
        if isinstance(parent, dict):
            parent.pop(key, None)
        else:
            del parent[key]
    else:
        parent[key] = value
    return doc


def damage(run: Path, target: str, kind: str, arg: typing.Any) -> None:
    """Damage one file of a run folder, as a disk error, a crash or a hand edit leaves it."""
    path = run / target
    data = bytearray(path.read_bytes()) if path.is_file() else bytearray()
    if kind == "delete":
        path.unlink(missing_ok=True)
    elif kind == "truncate":
        path.write_bytes(bytes(data[: int(arg * len(data))]))
    elif kind == "flip":
        for where, xor in arg:
            if data:
                data[int(where * (len(data) - 1))] ^= xor
        path.write_bytes(bytes(data))
    elif kind == "replace":
        path.write_bytes(arg)
    elif kind == "text":
        path.write_text(arg, encoding="utf-8", errors="surrogatepass")
    elif kind == "entry":
        path.write_text(json.dumps({**json.loads(bytes(data)), arg[0]: arg[1]}))
    elif kind == "append":
        path.write_bytes(bytes(data) + b"".join(json.dumps(r).encode() + b"\n" for r in arg))
    elif kind == "set":
        if target.endswith(".jsonl"):
            lines = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
            path.write_text("\n".join(json.dumps(r) for r in mutate(lines, *arg)) + "\n")
        else:
            path.write_text(json.dumps(mutate(json.loads(bytes(data)), *arg), indent=2))


byte_damage = {
    "delete": st.none(),
    "truncate": st.floats(0, 0.999),
    "flip": st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=8).map(tuple),
    "replace": st.binary(max_size=600),
}
KNOWN_KEYS = [
    "model_name",
    "model",
    "data",
    "train",
    "widths",
    "hidden",
    "latent_dim",
    "image_size",
    "channels",
    "likelihood",
    "conditional",
    "num_classes",
    "kind",
    "epoch",
    "step",
    "seconds",
    "elbo",
    "neg_elbo",
    "neg_elbo_stderr",
    "images",
    "samples",
    "k",
    "provenance",
    "extractor",
    "extractor_sha256",
    "weights_sha256",
    WEIGHTS,
    "train_state.pt",
    "config.json",
]
RESULT_FIELDS = sorted({f for m in METRICS.values() for f in (*m.headline, *m.spread.values())} | {"k", "samples"})
provenances = json_values | st.fixed_dictionaries(
    {},
    optional={
        k: json_values
        for k in ("extractor", "extractor_sha256", "weights_sha256", "generated_images", "images", "step", "epoch")
    },
)
eval_entries = st.tuples(  # an eval.json entry as a hand edit or an older genlab might leave it
    st.tuples(st.sampled_from(sorted(METRICS)), st.sampled_from(["", "@x", "@inception-v3"])).map("".join),
    json_values
    | st.fixed_dictionaries(
        {}, optional={"provenance": provenances, **{f: json_values | finite for f in RESULT_FIELDS}}
    ),
)
log_lines = st.fixed_dictionaries(  # a damaged metrics.jsonl record that is still a JSON object
    {"kind": st.sampled_from(["epoch", "step", "rollback"]) | json_values},
    optional={k: json_values for k in ("epoch", "step", "seconds", "loss", "test/loss", "train/loss")},
)
json_damage = {
    "text": st.text(max_size=40),
    "set": st.tuples(
        st.lists(st.integers(-3, 40) | st.sampled_from(KNOWN_KEYS), min_size=1, max_size=3).map(tuple),
        st.just(DELETE) | json_values,
    ),
}


@st.composite
def damages(draw, files: list[str]) -> tuple[str, str, typing.Any]:
    target = draw(st.sampled_from(files))
    kinds = {
        **byte_damage,
        **(json_damage if target in JSON_FILES else {}),
        **({"entry": eval_entries} if target == "eval.json" else {}),
        **({"append": st.lists(log_lines, min_size=1, max_size=2)} if target == "metrics.jsonl" else {}),
    }
    kind = draw(st.sampled_from(sorted(kinds)))
    return target, kind, draw(kinds[kind])


def sha(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def recorded(folder: Path, name: str) -> bool:
    """Whether checksums.json records for ``name`` the sum the file has: a missing, unreadable or other record
    is refused as a damaged checkpoint (verification cannot be switched off)."""
    try:
        sums = json.loads((folder / CHECKSUMS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(sums, dict) and (folder / name).is_file() and sums.get(name) == sha(folder / name)


def usable(folder: Path, layout: str) -> bool:
    """Whether genlab may take ``folder`` as the run's checkpoint: weights and config present; a checkpoint.tmp
    (a save interrupted before its swap) only with checksums that match every file."""
    if not ((folder / WEIGHTS).is_file() and (folder / "config.json").is_file()):
        return False
    if layout != "checkpoint.tmp":
        return True
    try:
        sums = json.loads((folder / CHECKSUMS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(sums, dict)
        and bool(sums)
        and all(isinstance(n, str) and (folder / n).is_file() and sha(folder / n) == d for n, d in sums.items())
    )


def outcome(call: typing.Callable[[], typing.Any]) -> typing.Any:
    """The result of ``call``, or the GenlabError it raised (checked to be one line); anything else fails."""
    try:
        return call()
    except GenlabError as e:
        one_line(e)
        return e


def sample_cli(run: Path, out: Path) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["sample", str(run), "-n", "4", "-o", str(out), "--device", "cpu"])
    return code, err.getvalue()


def test_a_damaged_run_folder_loads_or_gives_one_line(scored_run):
    """Any one damaged file of a run (its checkpoint possibly left as checkpoint.tmp or .old by a crash inside
    a save): the loaders and `genlab sample` work -- with the original weights, which checksums protect -- or
    give one line; never another exception."""
    examples = [
        {"hurt": ("checkpoint/config.json", "set", (("model_name",), [])), "layout": "checkpoint"},
        {"hurt": ("checkpoint/config.json", "set", (("model", "hidden"), -1)), "layout": "checkpoint"},
        {"hurt": ("checkpoint/model.safetensors", "flip", ((1.0, 1),)), "layout": "checkpoint"},
        {"hurt": ("metrics.jsonl", "delete", None), "layout": "checkpoint.old"},
    ]
    counts = outcomes(
        functools.partial(damaged_run_folder_loads, scored_run),
        RUN_FOLDER,
        examples,
        hurt=damages(CKPT_FILES + ROOT_FILES),
        layout=st.sampled_from(["checkpoint", "checkpoint", "checkpoint.tmp", "checkpoint.old"]),
    )
    assert counts["worked"] and counts["refused"], counts


def damaged_run_folder_loads(scored_run: Path, hurt: tuple, layout: str) -> bool:
    """Whether the run loads after ``hurt`` (checked against what its files allow, see the test above)."""
    show(hurt=hurt, layout=layout)
    target, kind, arg = hurt
    original = run_weights(scored_run)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(shutil.copytree(scored_run, Path(tmp) / "run"))
        damage(run, target, kind, arg)
        if layout != "checkpoint":
            (run / "checkpoint").rename(run / layout)
        folder = run / layout
        intact = {
            name: sha(folder / name) == sha(scored_run / "checkpoint" / name) for name in (WEIGHTS, "train_state.pt")
        }
        ok = usable(folder, layout)
        config_ok = ok and recorded(folder, "config.json")  # a hand-edited config fails its checksum too
        weights_ok = config_ok and intact[WEIGHTS] and recorded(folder, WEIGHTS)
        state_ok = ok and intact["train_state.pt"] and recorded(folder, "train_state.pt")

        loaded = outcome(lambda: load_run(run))
        assert isinstance(loaded, tuple) == weights_ok, loaded
        if isinstance(loaded, tuple):  # then with the weights as trained
            state = loaded[0].state_dict()
            assert state.keys() == original.keys() and all(torch.equal(state[k], original[k]) for k in original)

        config = outcome(lambda: load_config(run))
        assert isinstance(config, RunConfig) == config_ok, config
        state = outcome(lambda: load_train_state(run))
        assert isinstance(state, dict) == state_ok, state

        code, err = sample_cli(run, Path(tmp) / "samples.png")
        assert (code == 0) == isinstance(loaded, tuple), err
        if code:
            assert code == 2 and err.startswith("genlab: error: ") and err.count("\n") == 1, err
        else:
            with Image.open(Path(tmp) / "samples.png") as img:
                assert img.size[0] > 0

        outcome(lambda: compare_runs([run]))
        outcome(lambda: recover_checkpoint(run))
        if ok:
            assert checkpoint_dir(run) == run / "checkpoint"  # recovery puts a usable checkpoint back in place
    return isinstance(loaded, tuple)


def test_compare_reads_a_damaged_eval_or_log_or_gives_one_line(scored_run):
    examples = [
        {"hurt": ("metrics.jsonl", "set", ((-1, "epoch"), DELETE)), "fmt": "markdown"},
        {"hurt": ("metrics.jsonl", "set", ((-1, "seconds"), "0.05")), "fmt": "markdown"},
        {"hurt": ("eval.json", "set", (("elbo", "provenance"), [1])), "fmt": "markdown"},
        {"hurt": ("eval.json", "set", (("elbo", "provenance", "extractor"), "x")), "fmt": "markdown"},
        {"hurt": ("eval.json", "text", "{"), "fmt": "csv"},
    ]
    counts = outcomes(
        functools.partial(damaged_log_compares, scored_run),
        settings(max_examples=50, deadline=None),
        examples,
        hurt=damages(["eval.json", "metrics.jsonl"]),
        fmt=st.sampled_from(["markdown", "csv"]),
    )
    assert counts["worked"] and counts["refused"], counts


def damaged_log_compares(scored_run: Path, hurt: tuple, fmt: str) -> bool:
    """Whether compare reads the run after ``hurt``: a table, or one line (exit 2 from the CLI)."""
    show(hurt=hurt, fmt=fmt)
    target, kind, arg = hurt
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(shutil.copytree(scored_run, Path(tmp) / "run"))
        damage(run, target, kind, arg)
        table = outcome(lambda: compare_runs([run], fmt))
        if target == "metrics.jsonl" and kind in byte_damage:  # a damaged log's lines are skipped
            assert isinstance(table, str), table
        if isinstance(table, str):
            assert table.startswith("| run |" if fmt == "markdown" else "run,")
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["compare", str(run)])
        assert code == (0 if isinstance(table, str) else 2)
        assert code == 0 or err.getvalue().count("\n") == 1
    return isinstance(table, str)


# found by the properties above: values that once passed validation and broke training after it started
@pytest.mark.parametrize(
    "setting", ["train.seed=1000000000000000", "train.seed=9223372036854775808", "train.device=meta", "model.hidden=-1"]
)
def test_a_value_that_once_broke_training_is_refused_before_it_in_one_line(setting, tmp_path, capsys):
    argv = [
        "train",
        "vae",
        *[a for item in TINY for a in ("--set", item)],
        "--set",
        "train.max_steps=1",
        "--set",
        "train.eval_images=0",
        "--set",
        setting,
        "--out",
        tmp_path / "run",
    ]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and setting.split("=")[0] in err, err
    assert not (tmp_path / "run" / "checkpoint").exists()

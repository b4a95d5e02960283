"""Run folders, in one place: the checkpoint layout, atomic checkpoints, and safe loading.

A run folder holds ``checkpoint/`` (``config.json`` + ``model.safetensors`` for inference, loadable without
the dataset and without unpickling anything, and ``train_state.pt`` for resume, read with
``weights_only=True``; beside them a model card, ``README.md`` + ``samples.png``, documentation that is not
checksummed), ``metrics.jsonl``, pictures and ``eval.json``. A checkpoint is written into
``checkpoint.tmp/``, flushed, then swapped in, so the last good one survives any crash.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import RunConfig, read_run_dict
from .errors import GenlabError
from .files import atomic_path, fsync_dir, fsync_file, fsync_files, read_json, sha256_file
from .models import build_model, get_model_class, run_config
from .version import __version__

CHECKPOINT = "checkpoint"
WEIGHTS = "model.safetensors"
STATE = "train_state.pt"
CONFIG = "config.json"
CHECKSUMS = "checksums.json"  # written last: a checkpoint folder that has it is complete
LOCK = "genlab.lock"
EVAL = "eval.json"  # in the run folder: the scores of `genlab eval`
CARD = "README.md"  # the model card (genlab.apps.report.cards), in the Hugging Face Hub's format
CARD_PICTURE = "samples.png"  # the picture the card shows
# documentation, rewritten at any time: never checksummed, carried into every new checkpoint
CARD_FILES = (CARD, CARD_PICTURE)


def module_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Weights of the original module (never a compiled wrapper's ``_orig_mod.`` names), on the CPU."""
    inner = getattr(model, "_orig_mod", model)
    return {k: v.detach().cpu().contiguous() for k, v in inner.state_dict().items()}


def save_checkpoint(
    run_dir: Path, model: torch.nn.Module, config: RunConfig, train_state: dict[str, Any] | None = None
) -> Path:
    """Write checkpoint.tmp/ (its checksums last), fsync, then swap it in; after any sequence of crashes a
    complete checkpoint is left (``recover_checkpoint`` puts it back in place)."""
    weights = module_state(model)
    if not all(torch.isfinite(t).all() for t in weights.values() if t.is_floating_point()):
        raise GenlabError("refusing to save non-finite weights; the last good checkpoint is kept")
    recover_checkpoint(run_dir)  # the newest complete checkpoint is `checkpoint` before anything is removed
    final, tmp, old = run_dir / CHECKPOINT, run_dir / f"{CHECKPOINT}.tmp", run_dir / f"{CHECKPOINT}.old"
    try:
        _write_checkpoint_files(tmp, weights, config, train_state, card_from=final)
    except (OSError, RuntimeError, SafetensorError) as e:  # a full disk, a file-size limit, a vanished folder
        shutil.rmtree(tmp, ignore_errors=True)
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise GenlabError(
            f"could not write a checkpoint into {run_dir} ({first[:200]}); the last good checkpoint is kept"
        ) from None
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    fsync_dir(run_dir)  # make the renames durable
    shutil.rmtree(old, ignore_errors=True)
    return final


def _write_checkpoint_files(
    tmp: Path, weights: dict[str, torch.Tensor], config: RunConfig, train_state: dict[str, Any] | None, card_from: Path
) -> None:
    """The files of a checkpoint in ``tmp`` (with the model card of ``card_from``), flushed, checksums last."""
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / CONFIG).write_text(config.to_json())
    loop = (train_state or {}).get("loop", {})
    meta = {
        "model_name": config.model_name,
        "genlab": __version__,
        "checksums": CHECKSUMS,
        **{k: str(loop[k]) for k in ("step", "epoch") if k in loop},
    }
    save_file(weights, str(tmp / WEIGHTS), metadata=meta)
    if train_state is not None:
        torch.save(train_state, tmp / STATE)
    carry_card(card_from, tmp)
    fsync_files(tmp)
    write_checksums(tmp)


def carry_card(source: Path, target: Path) -> None:
    """Copy the model card files of checkpoint folder ``source`` (those it has) into ``target``: a checkpoint
    saved between two cards (mid-epoch, on a stop) keeps the last one."""
    for name in CARD_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, target / name)


def write_checksums(folder: Path) -> None:
    """sha256 of every file of a checkpoint folder but the model card into checksums.json, flushed to disk:
    written last, it marks the folder complete and lets every load check the weights."""
    unsummed = (CHECKSUMS, *CARD_FILES)
    sums = {f.name: sha256_file(f) for f in sorted(folder.iterdir()) if f.is_file() and f.name not in unsummed}
    with atomic_path(folder / CHECKSUMS) as tmp:
        tmp.write_text(json.dumps(sums, indent=2))
        fsync_file(tmp)
    fsync_dir(folder)


def complete(folder: Path, verify: bool = False) -> bool:
    """A checkpoint folder with weights and config; ``verify``: and a checksums.json that matches every file
    (how a checkpoint.tmp proves it was finished)."""
    if not ((folder / WEIGHTS).is_file() and (folder / CONFIG).is_file()):
        return False
    if not verify:
        return True
    sums = read_checksums(folder)
    return bool(sums) and all((folder / n).is_file() and sha256_file(folder / n) == d for n, d in sums.items())


def read_checksums(folder: Path) -> dict[str, str] | None:
    """The recorded checksums of a checkpoint folder; None when it has none; a sum that matches no file when the
    record is unreadable."""
    try:
        sums = read_json(folder / CHECKSUMS)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"": ""}
    return sums if isinstance(sums, dict) else {"": ""}


def recover_checkpoint(run_dir: Path) -> None:
    """After a crash inside a save, put the newest complete checkpoint back in place: a complete checkpoint.tmp
    (newer), else checkpoint.old."""
    final, tmp, old = run_dir / CHECKPOINT, run_dir / f"{CHECKPOINT}.tmp", run_dir / f"{CHECKPOINT}.old"
    if complete(final):  # only ever made by renaming a finished folder
        return
    for candidate, verify in ((tmp, True), (old, False)):
        if candidate.is_dir() and complete(candidate, verify):
            if final.exists():
                shutil.rmtree(final)
            os.replace(candidate, final)
            fsync_dir(run_dir)
            return


def checkpoint_dir(run: str | Path) -> Path:
    """The checkpoint folder of a run (or the folder itself when it is a checkpoint): ``checkpoint``, else what a
    crash inside a save left complete, newest first (as ``recover_checkpoint`` picks): a checkpoint.tmp with
    matching checksums, then checkpoint.old."""
    run = Path(run)
    if not run.exists():
        raise GenlabError(f"run folder {run} does not exist")
    for candidate, verify in (
        (run / CHECKPOINT, False),
        (run / f"{CHECKPOINT}.tmp", True),
        (run / f"{CHECKPOINT}.old", False),
        (run, False),
    ):
        if complete(candidate, verify):
            return candidate
    if (run / CONFIG).is_file():
        raise GenlabError(
            f"{run} has no checkpoint yet (training stopped before its first one); start it again "
            "with the same command, without --resume"
        )
    raise GenlabError(f"{run} is not a genlab run (no {CHECKPOINT}/{WEIGHTS} with {CONFIG})")


def has_checkpoint(run: Path) -> bool:
    """Whether a run folder holds a checkpoint (or one a crash left complete)."""
    try:
        checkpoint_dir(run)
    except GenlabError:
        return False
    return True


REHASH_HINT = "if you changed it on purpose, `genlab verify RUN --rehash` records its files as they are now"


def verify_file(path: Path) -> None:
    """One clear line unless a checkpoint file matches the sha256 recorded in checksums.json beside it; a missing
    or unreadable record is refused too. Only checkpoints of the layout before checksums (weights that record
    neither a step nor the checksums file) have none to check."""
    sums = read_checksums(path.parent)
    if sums is None and not expects_checksums(path.parent):
        return
    if sums is None or path.name not in sums:
        what = "no" if sums is None else "no valid"
        raise GenlabError(
            f"{path.parent} has {what} {CHECKSUMS} for {path.name}: the checkpoint is incomplete or "
            f"was changed by hand; {REHASH_HINT}"
        )
    if sha256_file(path) != sums[path.name]:
        raise GenlabError(
            f"{path} is corrupt: its sha256 differs from the one in {CHECKSUMS} (the file changed "
            f"after it was written); restore it or train again ({REHASH_HINT})"
        )


def expects_checksums(folder: Path) -> bool:
    """Whether a checkpoint folder was written with a checksums.json: its weights record the checksums file or a
    training step (both written since checksums were)."""
    meta = weights_metadata(folder / WEIGHTS)
    return "checksums" in meta or "step" in meta


def load_weights(model: torch.nn.Module, path: Path, model_name: str, verify: bool = True) -> None:
    """Load safetensors weights into ``model`` (checked against their recorded checksum unless ``verify`` is
    false); one clear line when they are corrupt or belong to another model."""
    if verify:
        verify_file(Path(path))
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise GenlabError(f"cannot read weights {path}: {e}") from None
    if meta.get("model_name", model_name) != model_name:
        raise GenlabError(f"{path} holds weights of model {meta['model_name']!r}, not {model_name!r}")
    try:
        result = model.load_state_dict(tensors, strict=False)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[-1].strip()
        raise GenlabError(f"weights in {path} do not fit the configured {model_name!r} model: {first}") from None
    if result.missing_keys or result.unexpected_keys:
        raise GenlabError(
            f"weights in {path} do not fit the configured {model_name!r} model "
            f"({len(result.missing_keys)} missing, {len(result.unexpected_keys)} unexpected tensors)"
        )


def weights_identity(run: str | Path) -> dict[str, Any]:
    """What a run's current weights are: their sha256 and the training step and epoch they were saved at
    (None for runs saved before genlab recorded them)."""
    path = checkpoint_dir(run) / WEIGHTS
    digest = (read_checksums(path.parent) or {}).get(WEIGHTS) or sha256_file(path)
    meta = weights_metadata(path)
    return {"weights_sha256": digest, **{k: int(meta[k]) if k in meta else None for k in ("step", "epoch")}}


def weights_metadata(path: Path) -> dict[str, str]:
    """What a weights file records of itself (model name, the genlab version that saved it, step, epoch);
    empty when it cannot be read."""
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            return f.metadata() or {}
    except (SafetensorError, OSError, ValueError):
        return {}


def load_run(run: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, RunConfig]:
    """A trained model (in eval mode) and its run config, without touching the dataset."""
    folder = checkpoint_dir(run)
    config = load_config(folder)
    model = build_model(config.model_name, config.model)
    load_weights(model, folder / WEIGHTS, config.model_name)
    return model.to(device).eval(), config


def load_train_state(run: str | Path) -> dict[str, Any]:
    """The resume state, loaded without unpickling arbitrary objects (weights_only=True)."""
    path = checkpoint_dir(run) / STATE
    if not path.is_file():
        raise GenlabError(f"{run} has no training state to resume from ({path} is missing)")
    verify_file(path)
    try:
        with warnings.catch_warnings():  # torch warns about a foreign pickle before refusing it: one line is ours
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise GenlabError(
            f"cannot read training state {path} (only tensors are loaded, nothing is unpickled): {first[:200]}"
        ) from None


def load_config(run: str | Path) -> RunConfig:
    """The run config of a run folder (or of a checkpoint folder, or a config.json file itself)."""
    path = Path(run)
    if path.suffix == ".json":
        return run_config(read_run_dict(path))
    saved = checkpoint_dir(path) / CONFIG
    verify_file(saved)
    return run_config(read_run_dict(saved))


WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"  # networks genlab ships: NAME.safetensors + NAME.json
SHIPPED = ("digits", "digits-v2", "digits-check", "digits-plain")


def _shipped_record(name: str, weights_dir: Path) -> dict:
    """NAME.json beside the shipped weights ({} when missing or unreadable)."""
    try:
        record = read_json(weights_dir / f"{name}.json")
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def shipped_file(name: str, weights_dir: Path = WEIGHTS_DIR) -> Path:
    """The shipped weights of ``name``, checked against the sha256 recorded in NAME.json."""
    path = weights_dir / f"{name}.safetensors"
    if not path.is_file():
        raise GenlabError(
            f"the shipped {name!r} extractor weights are missing ({path}); reinstall genlab "
            "or rebuild them with benchmarks/digit_classifier.py (--version v2|check)"
        )
    expected = _shipped_record(name, weights_dir).get("sha256")
    if expected and sha256_file(path) != expected:
        raise GenlabError(
            f"the shipped {name!r} extractor weights {path} do not match the sha256 in "
            f"{name}.json: the file is corrupt; reinstall genlab"
        )
    return path


def pretrained_config(run: str) -> RunConfig:
    """The run config of a run folder, or the one recorded for a shipped network (digits-v2)."""
    if run in SHIPPED:
        recorded = _shipped_record(run, WEIGHTS_DIR).get("config")
        if not isinstance(recorded, dict):
            raise GenlabError(f"the shipped {run!r} network has no readable config; reinstall genlab")
        return run_config(recorded)
    return load_config(run)


def embed_pretrained(model_cls: type, model_config: Any) -> None:
    """Copy the config of every run a model builds on (``model_cls.pretrained``: config field naming the run
    -> model names it may be) into the field ``<name>_config``, so the model's checkpoint stands alone; fields
    in ``model_cls.optional_pretrained`` may stay empty."""
    for field, kinds in model_cls.pretrained.items():
        if getattr(model_config, f"{field}_config"):
            continue
        run, wanted = getattr(model_config, field), " or ".join(kinds)
        if not run and field in model_cls.optional_pretrained:
            continue
        if not run:
            raise GenlabError(f"a {model_cls.name} needs model.{field}=RUN, a trained {wanted} run folder")
        config = pretrained_config(run)
        if config.model_name not in kinds:
            raise GenlabError(f"{run} is a {config.model_name!r} run; model.{field} must name a trained {wanted} run")
        setattr(model_config, f"{field}_config", config.to_dict())


def load_pretrained(model: torch.nn.Module) -> None:
    """A fresh run starts from the trained weights of the runs it builds on (each into the submodule of the
    same name); a saved run carries them in its own checkpoint."""
    for field in model.pretrained:
        config, run = getattr(model.config, f"{field}_config"), getattr(model.config, field)
        if not config:  # an optional one left unset
            continue
        path = shipped_file(run) if run in SHIPPED else checkpoint_dir(run) / WEIGHTS
        load_weights(pretrained_submodule(model, field), path, config["model_name"])


def pretrained_submodule(model: torch.nn.Module, field: str) -> torch.nn.Module:
    """The submodule a run named by config field ``field`` loads into: ``model.<field>``, or the one a part of the
    model holds under that name (a translator term's classifier: ``terms.semantic.<field>``)."""
    named = dict(model.named_modules())
    if field in named:
        return named[field]
    return next(module for name, module in named.items() if name.endswith(f".{field}"))


def resolve_model_config(config: RunConfig, dataset: Any) -> None:
    """Fill the model config's data-dependent fields (in place): the configs of the runs it builds on, then
    the model's own ``resolve_config``."""
    model_cls = get_model_class(config.model_name)
    embed_pretrained(model_cls, config.model)
    model_cls.resolve_config(config.model, config.data, dataset)

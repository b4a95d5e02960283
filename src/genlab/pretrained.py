"""Every folder ``genlab.load`` reads, and models as folders in the Hugging Face Hub's layout.

``load(path)`` takes a run folder, a checkpoint folder (also one copied anywhere), a save_pretrained folder or an
ONNX export folder (``genlab export``); an export is loaded when it holds the PyTorch weights its manifest names,
else one line says what it holds and what to pass instead. ``from_pretrained(name)`` loads a local folder, or
fetches a Hub id ("user/name") with huggingface_hub, an optional dependency (``pip install 'genlab[hub]'``)
imported only then.

``write_pretrained(model, folder)`` writes the files of a save_pretrained folder, laid out like a checkpoint
folder so that every loader reads it: config.json (the run config, a run's schema), model.safetensors,
checksums.json (written by genlab.runs, checked by ``runs.verify_file`` on every load) and eval.json with the
scores of exactly these weights (each entry names the sha256 of the weights it scored; like the model card it is
rewritten by ``genlab eval`` and never checksummed). The model card (README.md with the Hub's ``model-index``,
samples.png) is the applications': ``genlab.save_pretrained`` (genlab.apps.api), which ``model.save_pretrained``
calls, writes these files, then the card.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import RunConfig
from .errors import GenlabError
from .evaluation import scored_weights
from .export.manifest import MANIFEST, is_export, locate_export, read_manifest
from .files import atomic_path, fsync_dir, fsync_file, read_json, sha256_file, write_json_atomic
from .models import build_model, run_config
from .runs import (
    CARD_FILES,
    CHECKPOINT,
    CHECKSUMS,
    CONFIG,
    EVAL,
    STATE,
    WEIGHTS,
    checkpoint_dir,
    complete,
    has_checkpoint,
    load_run,
    load_weights,
    module_state,
    weights_identity,
    write_checksums,
)
from .version import __version__

HUB_EXTRA = "pip install 'genlab[hub]'"
FILES = (CONFIG, WEIGHTS, CHECKSUMS, EVAL, *CARD_FILES)  # a save_pretrained folder; what a Hub download fetches
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # "user/name": only a path that does not exist is taken for one
FOLDERS = (
    "genlab.load takes a run folder (genlab train), a checkpoint or save_pretrained folder (config.json + "
    f"{WEIGHTS}) or an ONNX export folder ({MANIFEST})"
)


def load(path: str | Path, device: str | torch.device = "cpu") -> Any:
    """The model in any folder genlab writes (see the module docstring), in eval mode on ``device``, with
    ``.run_dir`` (the folder) and ``.run_config`` (its run config), as ``genlab.train`` returns it."""
    folder = Path(path)
    if not folder.exists():
        raise GenlabError(f"{folder} does not exist; {FOLDERS}")
    if has_checkpoint(folder) or (folder / CONFIG).is_file():
        model, config = load_run(folder)  # its own lines: no checkpoint yet, a corrupt file, another model's weights
    elif is_export(folder):
        model, config = load_export(folder)
    else:
        raise GenlabError(f"{folder} is no genlab model folder: {FOLDERS}")
    model.run_dir, model.run_config = folder, config
    return model.to(device).eval()


def load_export(path: Path) -> tuple[Any, RunConfig]:
    """The model of an export folder that holds the weights its manifest names (model.safetensors with the
    recorded sha256), built from the run config the manifest carries; else one line on what it holds."""
    folder = locate_export(path)[0]
    manifest = read_manifest(folder)
    weights = folder / WEIGHTS
    if not (weights.is_file() and sha256_file(weights) == manifest.get("weights_sha256")):
        raise GenlabError(without_weights(folder, manifest))
    config = run_config(manifest.get("config"))
    model = build_model(config.model_name, config.model)
    load_weights(model, weights, config.model_name, verify=False)  # checked against the manifest's sha256 above
    return model, config


def without_weights(folder: Path, manifest: dict[str, Any]) -> str:
    """What an export folder without PyTorch weights holds, and what to pass instead (its run, when it lies in the
    run folder it was exported from, as ``genlab export`` puts it by default)."""
    graphs = ", ".join(str(g.get("file")) for g in manifest.get("graphs", []) if isinstance(g, dict)) or "no graphs"
    run = folder.resolve().parents[1] if folder.resolve().parent.name == "export" else None
    if (
        run is not None
        and has_checkpoint(run)
        and weights_identity(run)["weights_sha256"] == manifest.get("weights_sha256")
    ):
        instead = f"the run it was exported from instead ({run})"
    else:
        instead = f"the run folder it was exported from instead, or copy that run's checkpoint/{WEIGHTS} into it"
    return (
        f"{folder} is an ONNX export of a {manifest.get('model_name')!r} model ({graphs}, {MANIFEST}) without its "
        f"PyTorch weights: load {instead}; its graphs run with onnxruntime (genlab.export.load_generator)"
    )


def from_pretrained(name: str | Path, device: str | torch.device = "cpu", *, revision: str | None = None) -> Any:
    """A model from a local folder (anything ``load`` takes) or, for a Hub id "user/name" that is no local
    path, from the Hugging Face Hub (``revision``: a branch, tag or commit)."""
    path = Path(name)
    if path.exists() or not HUB_ID.fullmatch(str(name)):
        return load(path, device)
    return load(hub_snapshot(str(name), revision), device)


def hub_snapshot(repo_id: str, revision: str | None = None) -> Path:
    """The local copy of a Hub model's files (huggingface_hub.snapshot_download, which caches them); one line
    when huggingface_hub is not installed, the machine is offline or the Hub has no such model."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise GenlabError(
            f"{repo_id} is no local folder, and downloading it as a Hugging Face Hub model id needs "
            f"huggingface_hub: {HUB_EXTRA}"
        ) from None
    try:
        folder = snapshot_download(
            repo_id, revision=revision, allow_patterns=list(FILES), library_name="genlab", library_version=__version__
        )
    except Exception as e:  # huggingface_hub's own errors (offline, no such repository, gated): one line
        raise GenlabError(hub_failure(repo_id, e)) from None
    return Path(folder)


def hub_failure(repo_id: str, error: Exception) -> str:
    """The line for a failed Hub download: a model the Hub does not have (or lets no one read), else offline."""
    kind = type(error).__name__
    said = (str(error).strip().splitlines() or [kind])[0][:200]
    if kind in ("RepositoryNotFoundError", "GatedRepoError", "RevisionNotFoundError"):
        return f"the Hugging Face Hub has no model {repo_id} that can be read here ({kind}: {said})"
    return (
        f"could not download {repo_id} from the Hugging Face Hub (offline? {kind}: {said}); "
        "pass a local folder (a run or save_pretrained folder) instead"
    )


# -- writing -------------------------------------------------------------------------------------------------


def write_pretrained(model: Any, folder: str | Path, *, force: bool = False) -> Path:
    """Write config.json, model.safetensors, checksums.json and eval.json of ``model`` into ``folder`` (see the
    module docstring): the weights are the file of the checkpoint they came from, byte for byte, when the model
    still holds exactly its tensors, so the scores of that file stay theirs. Returns the folder."""
    folder, config, source = Path(folder), config_of(model), getattr(model, "run_dir", None)
    check_target(folder, force)
    weights = module_state(model)
    if not all(torch.isfinite(t).all() for t in weights.values() if t.is_floating_point()):
        raise GenlabError("refusing to save non-finite weights")
    scores, scored = source_scores(source), source_weights(source, weights)  # before anything in folder changes
    folder.mkdir(parents=True, exist_ok=True)
    for stale in (CHECKSUMS, EVAL):  # a folder without its checksums is refused by every load until it is done
        (folder / stale).unlink(missing_ok=True)
    with atomic_path(folder / CONFIG) as tmp:
        tmp.write_text(config.to_json())
        fsync_file(tmp)
    with atomic_path(folder / WEIGHTS) as tmp:
        if scored is not None:
            shutil.copyfile(scored, tmp)
        else:
            meta = {"model_name": config.model_name, "genlab": __version__, "checksums": CHECKSUMS}
            save_file(weights, str(tmp), metadata=meta)
        fsync_file(tmp)
    fsync_dir(folder)
    write_checksums(folder)
    digest = sha256_file(folder / WEIGHTS)
    kept = {key: entry for key, entry in scores.items() if scored_weights(entry) == digest}
    if kept:
        write_json_atomic(folder / EVAL, kept)
    return folder


def config_of(model: Any) -> RunConfig:
    """The run config a model was built from (``.run_config``, as genlab.load and genlab.train set it) with the
    model's own config section; a model built in code gets the default data and training sections."""
    config = getattr(model, "run_config", None)
    if config is None:
        return RunConfig(model.name, model.config)
    if config.model_name != model.name:
        raise GenlabError(f"the model is a {model.name!r}, but its run_config describes a {config.model_name!r}")
    return RunConfig(config.model_name, model.config, config.data, config.train)


def check_target(folder: Path, force: bool) -> None:
    """One line unless ``folder`` may be written: missing, empty, one save_pretrained wrote (written over), or
    with ``force`` any other folder (files of the same names replaced); never a run or a training checkpoint."""
    if folder.exists() and not folder.is_dir():
        raise GenlabError(f"{folder} is a file; save_pretrained writes a folder")
    if not folder.exists() or not any(folder.iterdir()):
        return
    if (folder / CHECKPOINT).exists() or (folder / STATE).exists():
        raise GenlabError(f"{folder} is a training run or checkpoint; save_pretrained writes a folder of its own")
    if not (complete(folder) or force):
        raise GenlabError(
            f"{folder} is not empty and not a save_pretrained folder; name another folder, or pass force=True "
            "(--force) to write into it (files of the same names are replaced)"
        )


def source_scores(source: Any) -> dict[str, dict]:
    """The eval.json entries of the folder a model was loaded from (none when there is no such folder)."""
    if source is None or not has_checkpoint(Path(source)):
        return {}
    return read_scores(scores_file(Path(source), checkpoint_dir(source)))


def source_weights(source: Any, weights: dict[str, torch.Tensor]) -> Path | None:
    """The weights file of the checkpoint a model was loaded from, when it holds exactly ``weights``."""
    if source is None or not has_checkpoint(Path(source)):
        return None
    path = checkpoint_dir(source) / WEIGHTS
    try:
        saved = load_file(str(path))
    except (SafetensorError, OSError, ValueError):
        return None
    same = saved.keys() == weights.keys() and all(torch.equal(saved[k], weights[k]) for k in weights)
    return path if same else None


def scores_file(run: Path, folder: Path) -> Path | None:
    """The eval.json of a checkpoint: its run folder's (the folder above a checkpoint folder named so), or the one
    ``genlab eval FOLDER`` wrote into the checkpoint (or save_pretrained) folder itself."""
    candidates = [run / EVAL] if run != folder else [folder / EVAL]
    if run == folder and folder.name == CHECKPOINT:
        candidates.append(folder.parent / EVAL)
    return next((path for path in candidates if path.is_file()), None)


def read_scores(path: Path | None) -> dict[str, dict]:
    """The entries of an eval.json (none when there is none or it is damaged)."""
    try:
        scores = read_json(path) if path is not None else {}
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in scores.items() if isinstance(v, dict)} if isinstance(scores, dict) else {}

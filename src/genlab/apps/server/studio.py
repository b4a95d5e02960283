"""The runs a studio serves: loaded once at startup, addressed by index or name, with what each one can do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...config import RunConfig
from ...data import short_names
from ...devices import inference_layout, pick_device
from ...errors import GenlabError
from ...models.capabilities import Model
from ...runs import load_run, weights_identity
from ...samplers import sampler_names
from .limits import MAX_GUIDANCE, MAX_QUEUED, MAX_SAMPLING_STEPS, NotFound
from .queue import InferenceQueue
from .records import trained_epochs

# capability -> what a request asks of the model, for "run 'vae' cannot translate (it has no translate())"
CAPABILITIES = {
    "sample": "draw samples",
    "interpolate": "decode latent codes",
    "traverse": "traverse the latent space",
    "manifold": "draw the latent manifold",
    "reconstruct": "reconstruct images",
    "translate": "translate",
    "refine": "refine images",
    "trajectory": "draw a denoising trajectory",
    "temperature": "sample at a temperature",
}


def missing(model: Model, method: str) -> str | None:
    """Why ``model`` cannot do what ``method`` does (None: it can)."""
    return None if model.supports(method) else f"it has no {method}()"


def reasons(model: Model, config: RunConfig) -> dict[str, str | None]:
    """For each capability, why the model lacks it (None: it has it)."""
    points = "it makes 2-D points, not images" if getattr(model, "points", False) else None
    latent = getattr(model, "latent_dim", None)
    decodes = missing(model, "decode") or points or (None if latent else "it has no latent space")
    translates = missing(model, "translate")
    one_way = tuple(model.directions) == ("a2b",)
    return {
        "sample": missing(model, "sample"),
        "interpolate": decodes,
        "traverse": decodes,
        "manifold": decodes or (None if latent == 2 else f"its latent space is {latent}-D, not 2-D"),
        "reconstruct": missing(model, "reconstruct") or points,
        "translate": translates,
        "refine": translates or (None if one_way else "it translates both ways; use action a2b or b2a"),
        "trajectory": None if model.supports("denoise") else "it is not a diffusion model",
        "temperature": None if model.supports("set_temperature") else "it samples with no temperature",
    }


def translator_domains(config: RunConfig) -> tuple[str, str]:
    """A translator's two domains as its data names them (``unpaired:mnist,mnistm``: mnist and mnistm; a folder by
    its name); "A" and "B" where the names do not tell them apart."""
    try:
        names = short_names(config.data.name)
    except GenlabError:  # e.g. domain folders gone since, with commas in their paths
        names = []
    return (names[0], names[1]) if len(names) == 2 and names[0] != names[1] else ("A", "B")


def upload_actions(can: dict[str, bool], directions: list[str], domains: tuple[str, str]) -> list[dict[str, Any]]:
    """What an upload can go through: each action, its label (a direction by its domains, "mnist → mnistm") and
    the captions of the images of its row (input, output, and for a two-way translator the way back)."""
    a, b = domains
    offered = [("reconstruct", "reconstruct", ["input", "reconstructed"])] if can["reconstruct"] else []
    for direction in directions:
        source, target = (a, b) if direction == "a2b" else (b, a)
        back = [] if directions == ["a2b"] else [f"back to {source} (reconstructed)"]
        offered.append((direction, f"{source} → {target}", [f"input ({source})", f"translated ({target})", *back]))
    if can["refine"]:
        offered.append(("refine", f"refine ({a} → {b})", [f"input ({a})", f"refined ({b})"]))
    return [{"action": action, "label": label, "captions": captions} for action, label, captions in offered]


@dataclass
class ServedRun:
    """One run folder of the studio, its model in eval mode, and the queue its inference waits in."""

    id: str
    name: str
    folder: Path
    model: Any
    config: RunConfig
    weights_sha256: str
    queue: InferenceQueue
    why_not: dict[str, str | None] = field(default_factory=dict)

    @property
    def points(self) -> bool:
        """Whether the model makes 2-D points (toy data) instead of images."""
        return bool(getattr(self.model, "points", False))

    @property
    def latent_dim(self) -> int | None:
        return getattr(self.model, "latent_dim", None)

    @property
    def num_classes(self) -> int:
        return int(getattr(self.model, "num_classes", 0) or 0)

    @property
    def directions(self) -> list[str]:
        """The directions the model translates ([] for models that do not)."""
        return [] if self.why_not["translate"] else list(self.model.directions)

    @property
    def sampling(self) -> dict[str, Any] | None:
        """A diffusion run's default sampling and the choices a request has (None: the run draws in one pass)."""
        if self.why_not["trajectory"]:
            return None
        default = self.model.default_sampling()
        return {
            "sampler": default.sampler,
            "steps": default.steps,
            "guidance": default.guidance,
            "samplers": sampler_names(),
            "max_steps": MAX_SAMPLING_STEPS,
            "max_guidance": MAX_GUIDANCE,
        }

    def require(self, capability: str) -> None:
        """A clear 400 line unless the model has ``capability``."""
        why = self.why_not[capability]
        if why:
            raise GenlabError(f"run {self.name!r} cannot {CAPABILITIES[capability]} ({why})")

    def check_label(self, label: int | None) -> None:
        """A clear 400 line unless ``label`` is None or a class of a class-conditional model."""
        if label is None:
            return
        if not self.num_classes:
            raise GenlabError(f"run {self.name!r} is not class-conditional; leave out label")
        if not 0 <= label < self.num_classes:
            raise GenlabError(f"label must be in 0..{self.num_classes - 1} for run {self.name!r}")

    async def infer(self, fn: Any, *args: Any) -> Any:
        """``fn(self, *args)`` on the studio's inference thread."""
        return await self.queue.run(fn, self, *args)

    def describe(self) -> dict[str, Any]:
        """The run's entry in /api/runs."""
        can = {capability: why is None for capability, why in self.why_not.items()}
        domains = translator_domains(self.config)
        return {
            "id": self.id,
            "name": self.name,
            "model": self.config.model_name,
            "data": self.config.data.name,
            "image_size": int(getattr(self.config.model, "image_size", 0) or 0),
            "channels": int(getattr(self.config.model, "channels", 0) or 0),
            "latent_dim": self.latent_dim,
            "num_classes": self.num_classes,
            "conditional": self.num_classes > 0,
            "points": self.points,
            "directions": self.directions,
            "domains": list(domains) if self.directions else [],
            "actions": upload_actions(can, self.directions, domains),
            "epochs": trained_epochs(self.folder),
            "sampling": self.sampling,
            "can": can,
        }


class Studio:
    """The served runs by id ("0", "1", ...) and by name, sharing one inference queue."""

    def __init__(self, runs: list[ServedRun], queue: InferenceQueue):
        self.runs, self.queue = runs, queue
        self._by_key = {key: run for run in runs for key in (run.id, run.name)}

    def find(self, key: str) -> ServedRun:
        """The run with this id or name; a 404 line otherwise (nothing else is looked up)."""
        if key not in self._by_key:
            served = ", ".join(f"{run.id} ({run.name})" for run in self.runs[:10])
            raise NotFound(f"unknown run {key[:60]!r}; this studio serves {served}")
        return self._by_key[key]


def unique_names(names: Sequence[str]) -> list[str]:
    """Folder names made unique (a repeat gets -2, -3, ...) and never equal to another run's index."""
    ids = {str(i) for i in range(len(names))}
    taken: set[str] = set()
    unique = []
    for i, name in enumerate(names):
        candidate, k = name, 1
        while candidate in taken or (candidate in ids and candidate != str(i)):
            k += 1
            candidate = f"{name}-{k}"
        taken.add(candidate)
        unique.append(candidate)
    return unique


def load_studio(folders: Sequence[str | Path], device: str = "cpu") -> Studio:
    """Load every run once (a folder that does not load stops here, with its one-line error)."""
    if not folders:
        raise GenlabError("genlab serve needs at least one run folder")
    target, queue = pick_device(device), InferenceQueue(MAX_QUEUED)
    paths = [Path(f) for f in folders]
    names = unique_names([p.resolve().name or "run" for p in paths])
    return Studio(
        [load_served(str(i), name, path, target, queue) for i, (name, path) in enumerate(zip(names, paths))], queue
    )


def load_served(run_id: str, name: str, folder: Path, device: Any, queue: InferenceQueue) -> ServedRun:
    """One run folder's model, in eval mode on ``device``, with its capabilities."""
    model, config = load_run(folder, device)
    inference_layout(model)
    return ServedRun(
        run_id, name, folder, model, config, weights_identity(folder)["weights_sha256"], queue, reasons(model, config)
    )

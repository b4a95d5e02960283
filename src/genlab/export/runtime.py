"""An exported generator run by onnxruntime as a model: ``genlab eval EXPORT_DIR`` scores it like the run.

``OnnxGenerator`` has what ``genlab.samplers`` and ``genlab.evaluation`` ask of a model: ``sample(n, generator,
labels)`` draws its codes from the manifest's latent distribution on the given CPU generator exactly as the
model's ``prior_sample`` does, so the same seeds give the same codes and the scores of the graph and of the run
differ only by the graph's numerical difference to PyTorch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..config import RunConfig
from ..errors import GenlabError
from ..models import GenerativeModel, run_config
from .graphs import draw_latent
from .manifest import graph_entry, locate_export, read_manifest
from .onnx import open_session, require_extra


class OnnxGenerator:
    """A generator or decoder graph (z [, labels] -> images in [0, 1]) that samples like its model."""

    points = False  # exported graphs make images
    training = False
    device = torch.device("cpu")
    require = GenerativeModel.require  # the same clear line for a capability it lacks

    def __init__(self, folder: Path, manifest: dict[str, Any], entry: dict[str, Any], config: Any):
        self.name, self.entry, self.config = manifest["model_name"], entry, config
        ports = {port["name"]: port for port in entry["inputs"]}
        self.latent = ports["z"]
        self.num_classes = ports["labels"]["range"][1] + 1 if "labels" in ports else 0
        self.session = open_session(folder / entry["file"])
        self.identity = {
            **{k: manifest.get(k) for k in ("weights_sha256", "step", "epoch")},
            "graph": entry["file"],
            "graph_sha256": entry["sha256"],
            "exporter": entry["exporter"],
        }

    def supports(self, method: str) -> bool:
        """It samples (and draws latent codes); it has no likelihood, encoder or translator."""
        return method in ("sample", "prior_sample")

    def eval(self) -> OnnxGenerator:
        return self

    def train(self, mode: bool = True) -> OnnxGenerator:
        return self

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n codes as the model's ``prior_sample`` draws them on the same CPU generator."""
        return draw_latent(self.latent, n, self.latent["shape"][1], generator)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels: Tensor | None = None) -> Tensor:
        """n images in [0, 1] from the graph; a conditional graph cycles through the classes without labels."""
        feed = {"z": self.prior_sample(n, generator).numpy()}
        if self.num_classes:
            labels = torch.arange(n) % self.num_classes if labels is None else labels.cpu()
            feed["labels"] = labels.to(torch.int64).numpy()
        return torch.from_numpy(self.session.run(None, feed)[0])


def load_generator(path: str | Path, graph: str | None = None) -> tuple[OnnxGenerator, RunConfig]:
    """The generator graph of an export folder (``graph``, the .onnx file ``path`` names, else the graph the
    model samples through) and the run config its manifest carries."""
    folder, named = locate_export(path)
    if graph is not None and named is not None and Path(graph).name != named:
        raise GenlabError(f"{path} is one graph; --graph names another ({graph})")
    manifest = read_manifest(folder)
    name = Path(graph).name if graph is not None else named or manifest.get("sample_graph")
    if name is None:
        names = ", ".join(g["file"] for g in manifest["graphs"])
        raise GenlabError(
            f"{folder} holds no graph that makes images from latent codes ({names}); genlab eval "
            "scores exported generators and decoders"
        )
    entry = graph_entry(folder, manifest, name)
    if [port["name"] for port in entry["inputs"]][:1] != ["z"]:
        raise GenlabError(
            f"{name} does not make images from latent codes; genlab eval scores exported generators and decoders"
        )
    require_extra()
    config = run_config(manifest["config"])
    return OnnxGenerator(folder, manifest, entry, config.model), config

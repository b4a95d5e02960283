"""An exported generator or denoiser run by onnxruntime as a model: ``genlab eval EXPORT_DIR`` scores it like the
run.

``OnnxGenerator`` has what ``genlab.samplers`` and ``genlab.evaluation`` ask of a model: ``sample(n, generator,
labels)`` draws its codes from the manifest's latent distribution on the given CPU generator exactly as the
model's ``prior_sample`` does, so the same seeds give the same codes and the scores of the graph and of the run
differ only by the graph's numerical difference to PyTorch. ``OnnxDiffusion`` solves with an exported denoiser by
the solver and noise levels its manifest names, the loop a user writes in any other runtime.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..config import RunConfig
from ..errors import GenlabError
from ..models import GenerativeModel, run_config
from ..ops.diffusion import solve
from .graphs import draw_latent
from .manifest import graph_entry, locate_export, read_manifest
from .onnx import open_session, require_extra


class OnnxSampler:
    """What every exported graph that samples like its model shares: its session, identity and capabilities."""

    points = False  # exported graphs make images
    training = False
    device = torch.device("cpu")
    require = GenerativeModel.require  # the same clear line for a capability it lacks

    def __init__(self, folder: Path, manifest: dict[str, Any], entry: dict[str, Any], config: Any):
        self.name, self.entry, self.config = manifest["model_name"], entry, config
        self.ports = {port["name"]: port for port in entry["inputs"]}
        self.session = open_session(folder / entry["file"])
        self.identity = {
            **{k: manifest.get(k) for k in ("weights_sha256", "step", "epoch")},
            "graph": entry["file"],
            "graph_sha256": entry["sha256"],
            "exporter": entry["exporter"],
        }

    def supports(self, method: str) -> bool:
        """It samples; it has no likelihood, encoder or translator."""
        return method == "sample"

    def eval(self) -> OnnxSampler:
        return self

    def train(self, mode: bool = True) -> OnnxSampler:
        return self

    def cycled_labels(self, n: int, labels: Tensor | None) -> Tensor:
        """The labels given, else cycling through the classes, as int64 on the CPU."""
        return (torch.arange(n) % self.num_classes if labels is None else labels.cpu()).to(torch.int64)


class OnnxGenerator(OnnxSampler):
    """A generator or decoder graph (z [, labels] -> images in [0, 1]) that samples like its model."""

    def __init__(self, folder: Path, manifest: dict[str, Any], entry: dict[str, Any], config: Any):
        super().__init__(folder, manifest, entry, config)
        self.latent = self.ports["z"]
        self.num_classes = self.ports["labels"]["range"][1] + 1 if "labels" in self.ports else 0

    def supports(self, method: str) -> bool:
        """It samples and draws latent codes."""
        return method in ("sample", "prior_sample")

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n codes as the model's ``prior_sample`` draws them on the same CPU generator."""
        return draw_latent(self.latent, n, self.latent["shape"][1], generator)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels: Tensor | None = None) -> Tensor:
        """n images in [0, 1] from the graph; a conditional graph cycles through the classes without labels."""
        feed = {"z": self.prior_sample(n, generator).numpy()}
        if self.num_classes:
            feed["labels"] = self.cycled_labels(n, labels).numpy()
        return torch.from_numpy(self.session.run(None, feed)[0])


class OnnxTopDown(OnnxSampler):
    """A hierarchical VAE's top-down graph (noise of every group -> images) that samples like its model: the same
    generator gives the same noise, group by group, top first."""

    num_classes = 0

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels: Tensor | None = None) -> Tensor:
        """n images in [0, 1] at temperature 1."""
        names = [name for name in self.ports if name.startswith("noise_")]  # the manifest lists them top-down
        feed = {name: torch.randn(n, *self.ports[name]["shape"][1:], generator=generator).numpy() for name in names}
        return torch.from_numpy(self.session.run(None, feed)[0])


class OnnxDiffusion(OnnxSampler):
    """A denoiser graph sampled by the solver and noise levels of the manifest's ``sampling``, as its model
    samples: the same seeds give the same starting noise."""

    def __init__(self, folder: Path, manifest: dict[str, Any], entry: dict[str, Any], config: Any):
        super().__init__(folder, manifest, entry, config)
        self.sampling = manifest["sampling"]
        self.num_classes = self.ports["labels"]["no_label"] if "labels" in self.ports else 0
        self.last_evaluations = 0

    def denoise(self, x: Tensor, sigma: Tensor, labels: Tensor | None) -> Tensor:
        """One evaluation of the graph, with the manifest's classifier-free guidance where it has labels."""
        feed = {"x": x.numpy(), "sigma": sigma.numpy()}
        run = lambda y: torch.from_numpy(self.session.run(None, {**feed, "labels": y.numpy()})[0])  # noqa: E731
        if labels is None:
            return torch.from_numpy(self.session.run(None, feed)[0])
        w = self.sampling["guidance"]
        return run(labels) if not w else (1 + w) * run(labels) - w * run(torch.full_like(labels, self.num_classes))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels: Tensor | None = None) -> Tensor:
        """n images in [0, 1]: noise at sigmas[0] solved down the manifest's levels by its solver."""
        sigmas, c = torch.tensor(self.sampling["sigmas"]), self.config
        x = sigmas[0] * torch.randn(n, c.channels, c.image_size, c.image_size, generator=generator)
        labels = self.cycled_labels(n, labels) if self.num_classes else None
        denoise = lambda x, sigma: self.denoise(x, sigma, labels)  # noqa: E731
        name, eta = self.sampling["sampler"], self.sampling["eta"]
        x, self.last_evaluations = solve(name, denoise, x, sigmas, generator, eta)
        return ((x + 1) / 2).clamp(0, 1)


def load_generator(path: str | Path, graph: str | None = None) -> tuple[OnnxSampler, RunConfig]:
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
    first = [port["name"] for port in entry["inputs"]][:1]
    kinds = {"z": OnnxGenerator, "noise_1": OnnxTopDown, "x": OnnxDiffusion if "sampling" in manifest else None}
    kind = kinds.get(first[0]) if first else None
    if kind is None:
        raise GenlabError(
            f"{name} does not make images from latent codes or noise; genlab eval scores exported generators, "
            "decoders and denoisers"
        )
    require_extra()
    config = run_config(manifest["config"])
    return kind(folder, manifest, entry, config.model), config

"""manifest.json beside exported graphs: what each graph is, what to feed it, and where it came from.

It names genlab's version, the run's model and config (as in its config.json), the weights' sha256, and per graph
its file and sha256, the exporter and opset, every input and output (name, dtype, shape with "batch" for the
dynamic dimension, value range or the distribution to draw from), the largest difference to PyTorch measured with
onnxruntime, and the file size. ``sample_graph`` is the graph ``model.sample()`` draws through; for a diffusion
model ``sampling`` says how: the solver, its noise levels, the start and the images at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import GenlabError
from ..files import read_json, sha256_file, write_json_atomic
from ..runs import weights_identity
from ..version import __version__

MANIFEST = "manifest.json"
FORMAT = "genlab-onnx-export"
VERSION = 1


def build_manifest(
    run: str | Path,
    config: Any,
    graphs: list[dict[str, Any]],
    sample_graph: str | None,
    sampling: dict[str, Any] | None = None,
) -> dict:
    """The manifest of graphs exported from ``run`` (``sampling``: a diffusion model's solver and noise levels)."""
    import onnxruntime

    return {
        "format": FORMAT,
        "version": VERSION,
        "genlab": __version__,
        "onnxruntime": onnxruntime.__version__,
        "model_name": config.model_name,
        "config": config.to_dict(),
        **weights_identity(run),
        "sample_graph": sample_graph,
        "graphs": graphs,
        **({"sampling": sampling} if sampling else {}),
    }


def write_manifest(path: Path, manifest: dict[str, Any]) -> Path:
    """The manifest as indented JSON at ``path``."""
    return write_json_atomic(path, manifest)


def locate_export(path: str | Path) -> tuple[Path, str | None]:
    """(export folder, graph file name or None) for an export folder or an .onnx file inside one."""
    path = Path(path)
    if path.suffix == ".onnx":
        return path.parent, path.name
    return path, None


def is_export(path: str | Path) -> bool:
    """Whether ``path`` is a folder of exported graphs (it has a manifest.json) or an .onnx file."""
    folder, graph = locate_export(path)
    return graph is not None or (folder / MANIFEST).is_file()


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of an export folder; one clear line when there is none or it is not one."""
    path = Path(folder) / MANIFEST
    try:
        manifest = read_json(path)
    except FileNotFoundError:
        raise GenlabError(f"{folder} has no {MANIFEST}: export the run with genlab export RUN --format onnx") from None
    except (OSError, ValueError) as e:
        raise GenlabError(f"cannot read {path}: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise GenlabError(f"{path} is not the manifest of a genlab ONNX export")
    return manifest


def graph_entry(folder: Path, manifest: dict[str, Any], name: str) -> dict[str, Any]:
    """The manifest entry of graph file ``name``, its file checked against the recorded sha256."""
    entry = next((g for g in manifest["graphs"] if g["file"] == name), None)
    if entry is None:
        names = ", ".join(g["file"] for g in manifest["graphs"])
        raise GenlabError(f"{folder} has no graph {name!r} in its {MANIFEST} (it has {names})")
    path = folder / name
    if not path.is_file():
        raise GenlabError(f"{path} is missing (listed in {MANIFEST})")
    if sha256_file(path) != entry["sha256"]:
        raise GenlabError(f"{path} differs from the file genlab exported (its sha256 is not the one in {MANIFEST})")
    return entry

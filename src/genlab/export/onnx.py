"""``genlab export --format onnx``: a run's image networks as ONNX graphs, each checked against PyTorch.

Each graph of ``graphs.GRAPHS`` that the model has is traced on the CPU in eval mode (fp32) with the dynamo
exporter (``torch.export``), its batch dimension dynamic; when that exporter fails for a network the TorchScript
exporter takes over and the manifest says so. onnxruntime then runs every graph on fixed inputs (seeded codes of
the model's own prior, seeded uniform images) at two batch sizes that differ from the traced one, and the export
fails when an output differs from PyTorch's by more than ``TOLERANCE``. The graphs are written into a temporary
folder and moved into place only when every one passed, with ``manifest.json`` beside them.

onnx, onnxscript and onnxruntime (the ``export`` extra) are imported only here, inside the functions.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import GenlabError
from ..files import sha256_file
from ..runs import load_run
from ..samplers import seeded
from .graphs import Graph, Port, draw_latent, graphs_of, sampling_schedule
from .manifest import MANIFEST, build_manifest, write_manifest
from .samples import free_folder

EXTRA = "genlab export needs the export extra: pip install 'genlab[export]'"
OPSET = 20  # ONNX opset of every graph (the dynamo exporter's default; onnxruntime >= 1.17 runs it)
TRACE_BATCH = 2  # the batch size graphs are traced at; the batch dimension stays dynamic
CHECK_BATCHES = (8, 1)  # batch sizes onnxruntime is checked at: neither is the traced one
# Largest |onnxruntime - PyTorch| allowed, times max(1, largest |output|): fp32 kernels that sum in another order
# differ by ~1e-6 on these networks; 1e-4 is 1/40 of an 8-bit gray level on [0, 1] images, so a graph within it
# gives the same PNGs, while a wrong op, weight or preprocessing step shows up as 1e-2 or more.
TOLERANCE = 1e-4


def require_extra() -> None:
    """One clear line when the export extra (onnx, onnxscript, onnxruntime) is not installed."""
    for name in ("onnx", "onnxscript", "onnxruntime"):
        try:
            importlib.import_module(name)
        except ImportError:
            raise GenlabError(EXTRA) from None


def export_onnx(run: str | Path, out: str | Path | None = None, *, force: bool = False) -> Path:
    """Every network of a run that makes images as NAME.onnx in ``out`` (default RUN/export/onnx; a non-empty
    folder only with ``force``), checked against PyTorch, with manifest.json; returns the manifest's path."""
    model, config = load_run(run, "cpu")
    graphs = graphs_of(model)
    out = free_folder(Path(out) if out is not None else Path(run) / "export" / "onnx", force)
    require_extra()
    with tempfile.TemporaryDirectory(prefix="genlab-onnx-") as tmp:
        entries = [export_graph(graph, model, Path(tmp)) for graph in graphs]
        sampled = next((f"{g.name}.onnx" for g in graphs if g.sampled(model)), None)
        manifest = build_manifest(run, config, entries, sampled, sampling_schedule(model))
        write_manifest(Path(tmp) / MANIFEST, manifest)
        out.mkdir(parents=True, exist_ok=True)
        for entry in entries:
            shutil.move(str(Path(tmp) / entry["file"]), out / entry["file"])
        shutil.move(str(Path(tmp) / MANIFEST), out / MANIFEST)  # last: a folder with a manifest is complete
    return out / MANIFEST


def export_graph(graph: Graph, model: Any, folder: Path) -> dict[str, Any]:
    """Trace one graph into ``folder``, check it with onnxruntime; its manifest entry."""
    wrapper = graph.wrapper(model).eval()
    inputs, outputs = graph.inputs(model), graph.outputs(model)
    path = folder / f"{graph.name}.onnx"
    with torch.no_grad():
        exporter = trace(wrapper, example_inputs(model, inputs, TRACE_BATCH, 0), inputs, outputs, path)
        difference, tolerance = check_against_torch(wrapper, path, model, inputs)
    if not difference <= tolerance:
        raise GenlabError(
            f"{path.name} differs from PyTorch by {difference:.2e} under onnxruntime (tolerance "
            f"{tolerance:.0e}); nothing was written"
        )
    return {
        "file": path.name,
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        **exporter,
        "opset": opset_of(path),
        "inputs": [p.describe() for p in inputs],
        "outputs": [p.describe() for p in outputs],
        "max_abs_diff": difference,
        "tolerance": tolerance,
        "checked_batches": list(CHECK_BATCHES),
    }


def trace(
    wrapper: nn.Module, args: tuple[Tensor, ...], inputs: list[Port], outputs: list[Port], path: Path
) -> dict[str, str]:
    """Export with the dynamo exporter, else with the TorchScript one; which exporter wrote the file."""
    names = {
        "input_names": [p.name for p in inputs],
        "output_names": [p.name for p in outputs],
        "opset_version": OPSET,
        "verbose": False,
    }
    try:
        with quiet():
            torch.onnx.export(
                wrapper,
                args,
                str(path),
                dynamo=True,
                external_data=False,
                dynamic_shapes=tuple({0: "batch"} for _ in inputs),
                **names,
            )
        return {"exporter": "dynamo"}
    except Exception as e:
        reason = first_line(e)
    try:
        with quiet():
            torch.onnx.export(
                wrapper,
                args,
                str(path),
                dynamo=False,
                dynamic_axes={p.name: {0: "batch"} for p in inputs + outputs},
                **names,
            )
    except Exception as e:
        raise GenlabError(f"cannot export {path.name}: {first_line(e)} (dynamo exporter: {reason})") from None
    return {"exporter": "torchscript", "dynamo_error": reason}


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Keep the exporters' progress lines, warnings and log records off the terminal."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (its type when it has none), at most 300 characters."""
    return ((str(error).strip().splitlines() or [type(error).__name__])[0])[:300]


def example_inputs(model: Any, ports: list[Port], n: int, seed: int) -> tuple[Tensor, ...]:
    """Fixed inputs for a batch of n: codes from the model's prior, labels and images drawn with ``seed``."""
    return tuple(example_input(model, port, n, seed) for port in ports)


def example_input(model: Any, port: Port, n: int, seed: int) -> Tensor:
    """One input: z from ``model.prior_sample`` (which the manifest's distribution must reproduce), uniform
    labels over the classes, or uniform images in [0, 1]."""
    if port.name == "z":
        z = model.prior_sample(n, seeded(seed)).cpu()
        if not torch.equal(draw_latent(port.values, n, port.shape[1], seeded(seed)), z):
            raise GenlabError(f"model {model.name!r} draws latent codes in a way the manifest cannot describe")
        return z
    if port.values.get("distribution") == "standard normal":  # a translator's styles, a hierarchy's group noise
        return torch.randn(n, *port.shape[1:], generator=seeded(seed))
    if port.name == "labels":
        return torch.randint(0, port.values["range"][1] + 1, (n,), generator=seeded(seed))
    if port.name == "sigma":  # noise levels log-uniform over the range a sampler visits
        low, high = (torch.tensor(v).log() for v in port.values["range"])
        return (low + (high - low) * torch.rand(n, generator=seeded(seed))).exp()
    if port.name == "x":  # noisy images: data-sized values plus noise of a few levels
        return torch.randn(n, *port.shape[1:], generator=seeded(seed)) * 3
    return torch.rand(n, *port.shape[1:], generator=seeded(seed))


def check_against_torch(wrapper: nn.Module, path: Path, model: Any, inputs: list[Port]) -> tuple[float, float]:
    """The largest |onnxruntime - PyTorch| over the batches of CHECK_BATCHES, and the tolerance it must meet."""
    try:
        session = open_session(path)
    except Exception as e:
        raise GenlabError(f"onnxruntime cannot load {path.name}: {first_line(e)}") from None
    difference, scale = 0.0, 1.0
    for n in CHECK_BATCHES:
        feed = example_inputs(model, inputs, n, seed=n)
        expected = wrapper(*feed).float().cpu().numpy()
        try:
            got = session.run(None, {p.name: t.numpy() for p, t in zip(inputs, feed)})[0]
        except Exception as e:
            raise GenlabError(f"onnxruntime cannot run {path.name} on a batch of {n}: {first_line(e)}") from None
        if got.shape != expected.shape:
            raise GenlabError(f"{path.name} makes {got.shape} from a batch of {n}; PyTorch makes {expected.shape}")
        difference = max(difference, float(np.abs(got - expected).max()))
        scale = max(scale, float(np.abs(expected).max()))
    return difference, TOLERANCE * scale


def open_session(path: Path, threads: int | None = None, spinning: bool = True) -> Any:
    """An onnxruntime CPU session of the graph at ``path`` (``threads``: intra-op threads, default its own;
    ``spinning=False``: its threads sleep between calls instead of keeping their cores busy)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    if threads is not None:
        options.intra_op_num_threads = threads
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def opset_of(path: Path) -> int:
    """The default-domain opset a graph file declares."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))

"""What leaves genlab: samples as files (samples.py) and a run's networks as ONNX graphs (onnx.py, with the graph
table in graphs.py, manifest.json in manifest.py and the exported generator run by onnxruntime in runtime.py).

onnx, onnxscript and onnxruntime (the ``export`` extra) are imported only when a graph is exported or run.
"""

from .graphs import GRAPHS, Graph, Port, graphs_of
from .manifest import MANIFEST, is_export, read_manifest
from .onnx import EXTRA, TOLERANCE, export_onnx, open_session
from .runtime import OnnxDiffusion, OnnxGenerator, load_generator
from .samples import (
    FORMATS,
    POINTS,
    READ_BY,
    SampleReader,
    export_samples,
    free_file,
    free_folder,
    label_batches,
    save_npz,
    save_png_dir,
)

__all__ = [
    "EXTRA",
    "FORMATS",
    "GRAPHS",
    "MANIFEST",
    "POINTS",
    "READ_BY",
    "TOLERANCE",
    "Graph",
    "OnnxDiffusion",
    "OnnxGenerator",
    "Port",
    "SampleReader",
    "export_onnx",
    "export_samples",
    "free_file",
    "free_folder",
    "graphs_of",
    "is_export",
    "label_batches",
    "load_generator",
    "open_session",
    "read_manifest",
    "save_npz",
    "save_png_dir",
]

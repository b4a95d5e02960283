"""``genlab eval EXPORT_DIR``: score an exported ONNX generator with the sample metrics, as its run is scored.

The graph runs under onnxruntime (``genlab.export.OnnxGenerator``) and draws its codes from the same seeds as the
run's model, so its FID, KID, PR, DC, IS and Parzen numbers match the run's within the graph's difference to
PyTorch. The results go to EXPORT_DIR/eval.json (never the run's), with the graph named in their provenance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..export import is_export, load_generator
from ..export.manifest import locate_export
from .scoring import default_metrics, merge_into, score, stored_key

__all__ = ["evaluate_export", "is_export"]


def evaluate_export(
    path: str | Path, metrics: list[str] | None = None, *, graph: str | None = None, write: bool = True, **options: Any
) -> dict[str, Any]:
    """Score the generator graph of an export folder (or the .onnx file ``path`` names; ``graph`` picks another
    than the one the model samples through); results go to EXPORT_DIR/eval.json and are returned."""
    generator, config = load_generator(path, graph)
    results = score(generator, config, metrics or default_metrics(generator, config), **options)
    for result in results.values():
        result["provenance"].update(generator.identity)  # the run's weights, and the graph that made the samples
    if write:
        stored = {stored_key(name, result, config): result for name, result in results.items()}
        merge_into(locate_export(path)[0] / "eval.json", stored, generator.identity["weights_sha256"])
    return results

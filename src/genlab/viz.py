"""Pictures and records: image grids (Pillow), scatter plots (matplotlib, imported lazily) and the records of a
run's metrics.jsonl (curves are drawn as SVG by genlab.charts)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from .files import json_record


def grid_array(images: Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """[N, C, H, W] floats in [0, 1] -> one uint8 array [rows*H, nrow*W, C] with a gray border."""
    images = images.detach().float().cpu().clamp(0, 1)
    n, c, h, w = images.shape
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    rows = int(math.ceil(n / nrow))
    canvas = torch.full((c, rows * (h + pad) + pad, nrow * (w + pad) + pad), 0.5)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        canvas[:, top : top + h, left : left + w] = images[i]
    return (canvas * 255).round().byte().permute(1, 2, 0).numpy()


def save_grid(images: Tensor, path: str | Path, nrow: int | None = None, scale: int = 1, pad: int = 2) -> Path:
    """Write an image grid as PNG (scaled up by an integer factor for small images)."""
    arr = grid_array(images, nrow, pad)
    img = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def save_image(image: Tensor, path: str | Path) -> Path:
    """One image [C, H, W] in [0, 1] as a file; the format follows the extension."""
    arr = grid_array(image[None], nrow=1, pad=0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr).save(path)
    return path


METRICS_FILE = "metrics.jsonl"  # the training records of a run folder, one JSON object a line
RECORD_POSITION = ("kind", "epoch", "step")  # where a metrics.jsonl record stands, not one of its numbers


def read_metrics(path: str | Path) -> list[dict]:
    """All records of a metrics.jsonl file; torn or damaged lines (a crash, a disk error) are skipped."""
    records = []
    for line in Path(path).read_bytes().decode("utf-8", errors="replace").splitlines():
        record = json_record(line)
        if record is not None:
            records.append(record)
    return records


def by_step(records: list[dict], kind: str, first: int = 0, last: float = float("inf")) -> dict[int, dict]:
    """Records of one kind (step, epoch) from step ``first`` to ``last``, by step; a step logged twice (a resume
    after a crash, a roll-back) keeps its latest record."""
    return {
        r["step"]: r
        for r in records
        if r.get("kind") == kind and isinstance(r.get("step"), int) and first <= r["step"] <= last
    }


def of_kind(records: list[dict], kind: str) -> list[dict]:
    """Records of one kind in step order, the latest of any step logged twice (a resume after a crash, a
    roll-back)."""
    latest = by_step(records, kind)
    return [latest[step] for step in sorted(latest)]


def run_records(run: str | Path) -> list[dict]:
    """The records of RUN/metrics.jsonl (damaged lines skipped; none when the run has no log yet)."""
    path = Path(run) / METRICS_FILE
    return read_metrics(path) if path.is_file() else []


def is_finite_number(value: Any) -> bool:
    """An int or a finite float (not a bool, a string, a list or JSON's null)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))


def interleave_rows(originals: Tensor, recon: Tensor, per_row: int = 8) -> Tensor:
    """Rows alternate: a row of originals, then the same images reconstructed."""
    per_row = max(1, min(per_row, len(originals)))
    recon = recon.to(originals.device)
    rows = []
    for start in range(0, len(originals), per_row):
        rows += [originals[start : start + per_row], recon[start : start + per_row]]
    return torch.cat(rows)


def save_scatter(points: Tensor, path: str | Path, centers: Tensor | None = None, span: float | None = None) -> Path:
    """Scatter plot of 2-D samples, with the true mode centers as crosses when given. Drawn on a figure of its own
    (no pyplot), so the process's matplotlib backend -- a notebook's inline figures -- is left as it was."""
    from matplotlib.figure import Figure

    pts = points.detach().float().cpu().numpy()
    fig = Figure(figsize=(5, 5), dpi=100)
    ax = fig.subplots()
    ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.4, label="samples")
    if centers is not None:
        c = centers.cpu().numpy()
        ax.scatter(c[:, 0], c[:, 1], marker="x", c="red", s=40, label="modes")
        span = span or float(abs(c).max()) * 1.5
    if span:
        ax.set_xlim(-span, span)
        ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.legend(loc="upper right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path

"""Helpers for benchmark scripts: machine description and result files."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """What the numbers were measured on."""
    info = {
        "cpu_cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "platform": platform.platform(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def save(name: str, result: dict, quiet: bool = False) -> Path:
    """Write benchmarks/results/NAME.json (with the machine) and print it unless ``quiet``."""
    RESULTS.mkdir(exist_ok=True)
    result = {**result, "machine": machine()}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2))
    if not quiet:
        print(json.dumps(result, indent=2))
    return path

"""Fault injection for tests and benchmarks: train a run in a child process, SIGKILL it at random moments (every
other kill aimed at a checkpoint save seen under way), resume it each time, and compare the finished run with an
uninterrupted one file by file: weights, training state (optimizers, position, every random state, history pools,
running means) and metrics.jsonl record by record."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from ..files import json_record
from ..runs import STATE, WEIGHTS, checkpoint_dir, has_checkpoint

WALL_CLOCK = ("seconds", "images_per_s")  # the only fields of a record that differ between identical runs
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@dataclass
class KillLoop:
    """What a run of kills did: how many landed while training, how many inside a save, the exit codes seen."""

    kills: int = 0
    landed: int = 0
    inside_save: int = 0
    codes: list[int] = field(default_factory=list)


def train_command(out: Path, new_run: list[str], resume: bool) -> list[str]:
    """`python -m genlab train NEW_RUN... --out OUT`, or `--resume` once the run has a checkpoint."""
    args = ["--resume"] if resume else new_run
    return [sys.executable, "-m", "genlab", "train", *args, "--out", str(out)]


def log_size(out: Path) -> int:
    path = out / "metrics.jsonl"
    return path.stat().st_size if path.is_file() else -1


def saving(out: Path, launched: float) -> bool:
    """Whether a process started at ``launched`` is writing a checkpoint now (its checkpoint.tmp exists)."""
    try:
        return (out / "checkpoint.tmp").stat().st_mtime >= launched
    except FileNotFoundError:
        return False


def kill_once(out: Path, new_run: list[str], rng: random.Random, aim_at_save: bool) -> tuple[int, bool, str]:
    """Start (or resume) the run and SIGKILL it after it logs a step: a random moment later, or (``aim_at_save``)
    as soon as a save is seen under way. Returns its exit code (-9 when killed), whether the kill landed inside a
    checkpoint save (a .tmp or .old it left), and its stderr."""
    before, launched = log_size(out), time.time()
    process = subprocess.Popen(
        train_command(out, new_run, has_checkpoint(out)), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.time() + 120
    while process.poll() is None and log_size(out) <= before and time.time() < deadline:
        time.sleep(0.01)  # until this process has trained and logged a step
    if aim_at_save:
        while process.poll() is None and not saving(out, launched) and time.time() < deadline:
            time.sleep(0.0005)
    else:
        time.sleep(rng.uniform(0.0, 0.06))  # a step logs, then saves (train.checkpoint_every=1): often mid-save
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=120)
    left = [out / "checkpoint.tmp", out / "checkpoint.old"]
    in_save = any(p.exists() and p.stat().st_mtime >= launched for p in left)
    return process.returncode, in_save, process.stderr.read().decode(errors="replace")


def kill_loop(out: Path, new_run: list[str], kills: int, seed: int = 1234) -> KillLoop:
    """``kills`` kills of one run, then its last resume to the end; a ValueError for any exit but 0 or SIGKILL."""
    rng, seen = random.Random(seed), KillLoop(kills=kills)
    for i in range(kills):
        code, in_save, stderr = kill_once(out, new_run, rng, aim_at_save=i % 2 == 1)
        if code not in (0, -signal.SIGKILL):
            raise ValueError(f"exit {code} after a kill: {stderr.strip()[-500:]}")
        seen.codes.append(code)
        seen.landed += code == -signal.SIGKILL
        seen.inside_save += in_save
    finish(out, new_run)
    return seen


def finish(out: Path, new_run: list[str]) -> None:
    """Train the run to its end in one process (a new run, or a resume); a ValueError unless it exits 0."""
    done = subprocess.run(
        train_command(out, new_run, has_checkpoint(out)), env=ENV, capture_output=True, text=True, timeout=1800
    )
    if done.returncode:
        raise ValueError(f"exit {done.returncode}: {done.stderr.strip()[-500:]}")


def log_records(run: Path) -> list[dict[str, Any]]:
    """metrics.jsonl without its wall-clock fields."""
    lines = (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [{k: v for k, v in (json_record(line) or {"torn": line}).items() if k not in WALL_CLOCK} for line in lines]


def same(a: Any, b: Any) -> bool:
    """Equality of nested training state: tensors bit for bit, containers item by item."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and torch.equal(a, b)
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def differences(run: Path, reference: Path) -> list[str]:
    """What of a finished run differs from an uninterrupted reference: weights, training state, log."""
    found = []
    if not same(load_file(str(checkpoint_dir(run) / WEIGHTS)), load_file(str(checkpoint_dir(reference) / WEIGHTS))):
        found.append("weights")
    states = [torch.load(checkpoint_dir(r) / STATE, map_location="cpu", weights_only=True) for r in (run, reference)]
    found += [f"training state: {key}" for key in sorted(states[1]) if not same(states[0].get(key), states[1][key])]
    if log_records(run) != log_records(reference):
        found.append("metrics.jsonl")
    if (run / "checkpoint.tmp").exists() or (run / "checkpoint.old").exists():
        found.append("a checkpoint.tmp or .old left behind")
    return found

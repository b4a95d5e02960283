"""Fault injection: training is SIGKILLed at random moments (many inside checkpoint writes, with a checkpoint
every step) and resumed each time; after every kill the run folder loads, and the run ends with exactly the
weights of an uninterrupted one. `make test` kills 10 times; GENLAB_FAULT_KILLS=100 for a longer proof."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import torch
from safetensors.torch import load_file

import genlab
from genlab.runs import checkpoint_dir

KILLS = int(os.environ.get("GENLAB_FAULT_KILLS", "10"))
SETTINGS = ["train.epochs=12", "data.limit=256", "train.batch_size=64", "train.eval_images=0", "train.grid_size=4",
            "train.checkpoint_every=1", "model.widths=8,16", "model.hidden=32", "model.latent_dim=4"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def command(out, resume: bool) -> list[str]:
    args = ["--resume"] if resume else ["vae", *[a for s in SETTINGS for a in ("--set", s)]]
    return [sys.executable, "-m", "genlab", "train", *args, "--out", str(out)]


def started(out) -> bool:
    return (out / "metrics.jsonl").is_file()


def kill_once(out, rng: random.Random) -> int:
    """Start (or resume) the run, SIGKILL it a random moment into training; its exit code (-9 when killed)."""
    resume = any((out / name).exists() for name in ("checkpoint", "checkpoint.old", "checkpoint.tmp"))
    process = subprocess.Popen(command(out, resume), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while process.poll() is None and not started(out) and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 0.6))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    return process.returncode


def weights(out) -> dict[str, torch.Tensor]:
    return load_file(str(checkpoint_dir(out) / "model.safetensors"))


def test_random_kills_lose_nothing_and_resume_exactly(tmp_path):
    rng, killed, inside, out = random.Random(1234), 0, 0, tmp_path / "killed"
    for _ in range(KILLS):
        if kill_once(out, rng) == -signal.SIGKILL:
            killed += 1
            inside += (out / "checkpoint.tmp").exists() or (out / "checkpoint.old").exists()  # mid-save
        if any((out / name).exists() for name in ("checkpoint", "checkpoint.old", "checkpoint.tmp")):
            genlab.load(out)  # after every kill: a complete, checksum-verified checkpoint loads
    print(f"\n{killed} of {KILLS} kills landed during training, {inside} of them inside a checkpoint write")
    assert killed >= KILLS // 2, f"only {killed} of {KILLS} kills landed during training"
    resume = (out / "checkpoint").exists() or (out / "checkpoint.old").exists()
    done = subprocess.run(command(out, resume), env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    reference = tmp_path / "straight"
    done = subprocess.run(command(reference, False), env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    a, b = weights(out), weights(reference)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), "resumed run differs"
    assert not (out / "checkpoint.tmp").exists() and not (out / "checkpoint.old").exists()

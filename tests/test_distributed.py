"""Data-parallel training with torchrun on CPUs (gloo): replicas stay equal, match one process with the same
global batch, stop together on SIGTERM, resume, and their run loads in one process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import genlab
from genlab.apps.testing import run_cli
from genlab.errors import GenlabError
from genlab.models import build_model
from genlab.runs import load_config
from genlab.testing import ddp_worker

GAN = {
    "model": "gan",
    "data": "toy2d:ring8",
    "preset": "toy",
    "overrides": ["train.epochs=2", "data.limit=2048", "train.batch_size=128"],
}
VAE = {
    "model": "vae",
    "preset": "tiny",
    "overrides": [
        "train.epochs=1",
        "data.limit=256",
        "train.batch_size=64",
        "train.eval_images=64",
        "train.grid_size=4",
    ],
}
DIFFUSION = {  # conditional: label dropout draws per sample too
    "model": "diffusion",
    "preset": "tiny",
    "overrides": [
        "model.conditional=true",
        "train.epochs=1",
        "data.limit=256",
        "train.batch_size=64",
        "train.eval_images=64",
        "train.grid_size=4",
    ],
}
HVAE = {  # batch-norm in every cell: statistics per replica, weights equal
    "model": "hvae",
    "preset": "tiny",
    "overrides": [
        "train.epochs=1",
        "data.limit=256",
        "train.batch_size=64",
        "train.eval_images=64",
        "train.grid_size=4",
        "train.grad_clip=50",
    ],
}
# one step of the global batch: the U-Net's zero-initialised output layer leaves the gradients of the last
# blocks' biases at round-off size for a few steps, where Adam's normalisation makes any difference of summation
# order a full-size step, so later steps are compared by the replicas' agreement only
DIFFUSION_ONE_STEP = {**DIFFUSION, "overrides": [o.replace("256", "64") for o in DIFFUSION["overrides"]]}
AUTOENCODER = {
    "model": "autoencoder",
    "preset": "tiny",
    "overrides": [
        "train.epochs=1",
        "data.limit=256",
        "train.batch_size=64",
        "data.binarize=static",
        "train.eval_images=64",
        "train.grid_size=4",
        "train.seed=3",
    ],
}


def torchrun(spec: dict, out: Path, dump: Path, nproc: int = 2, wait: bool = True):
    """The worker under torchrun with ``nproc`` replicas on this machine (one thread each)."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "genlab.testing.ddp_worker",
        json.dumps({**spec, "out": str(out)}),
        str(dump),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not wait:
        return process
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 0, output
    return output


def params(dump: Path, rank: int) -> dict[str, torch.Tensor]:
    return load_file(str(dump / f"params_{rank}.safetensors"))


def domain_folders(root: Path) -> str:
    """unpaired:A,B over two folders of 8 random 16-px gray images each."""
    from PIL import Image

    gen = torch.Generator().manual_seed(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(8):
            pixels = torch.randint(0, 256, (16, 16), generator=gen, dtype=torch.uint8).numpy()
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return f"unpaired:{root / 'a'},{root / 'b'}"


CYCLEGAN = {
    "model": "cyclegan",
    "preset": "tiny",
    "overrides": ["train.epochs=1", "train.batch_size=4", "train.eval_images=4", "train.grid_size=4"],
}


@pytest.mark.slow  # torchrun
@pytest.mark.parametrize(
    "spec", [GAN, VAE, CYCLEGAN, DIFFUSION, HVAE], ids=["gan", "vae", "cyclegan", "diffusion", "hvae"]
)
def test_replicas_end_with_the_same_weights_and_the_run_loads_in_one_process(spec, tmp_path):
    if spec is CYCLEGAN:  # four networks in two phases, history pools per replica
        spec = {**spec, "data": domain_folders(tmp_path / "domains")}
    torchrun(spec, tmp_path / "run", tmp_path / "dump")
    first, second = params(tmp_path / "dump", 0), params(tmp_path / "dump", 1)
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    model = genlab.load(tmp_path / "run")
    assert all(torch.equal(model.state_dict()[k], v) for k, v in first.items())  # replica 0 saved what it had
    assert (model.sample(4) if model.supports("sample") else model.translate(torch.rand(4, 1, 16, 16))).shape[0] == 4
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == list(range(1, len(epochs) + 1))  # one log, written once


@pytest.mark.slow  # torchrun
@pytest.mark.parametrize(
    "spec", [VAE, GAN, AUTOENCODER, DIFFUSION_ONE_STEP], ids=["vae", "gan", "autoencoder", "diffusion"]
)
def test_two_replicas_equal_one_process_with_the_same_global_batch(spec, tmp_path):
    """The mean of two half-batch gradients is the full batch's gradient, and the replicas draw their rows of
    the global batch's noise (GAN codes, VAE posterior samples, dynamic binarization): two processes train
    what one process trains, to float round-off."""
    torchrun(spec, tmp_path / "two", tmp_path / "dump2")
    ddp_worker.main({**spec, "out": str(tmp_path / "one")}, tmp_path / "dump1")
    two, one = params(tmp_path / "dump2", 0), params(tmp_path / "dump1", 0)
    config = load_config(tmp_path / "one")
    torch.manual_seed(config.train.seed)  # the initial weights, as train() builds them
    start = {k: v.detach() for k, v in build_model(config.model_name, config.model).named_parameters()}
    moved = max(float((one[k] - start[k]).abs().max()) for k in one)
    apart = max(float((one[k] - two[k]).abs().max()) for k in one)
    assert apart < moved / 100, (apart, moved)  # training moved the weights far more than the runs differ
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-3, atol=1e-4, msg=lambda m, key=key: f"{key}: {m}")


@pytest.mark.slow  # torchrun
def test_sigterm_stops_every_replica_with_one_checkpoint_and_resume_continues(tmp_path):
    spec = {**GAN, "overrides": ["train.epochs=400", "data.limit=8192", "train.batch_size=64"]}
    run = tmp_path / "run"
    process = torchrun(spec, run, tmp_path / "dump", wait=False)
    deadline = time.time() + 120
    while time.time() < deadline and not (run / "metrics.jsonl").is_file():
        time.sleep(0.2)
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)  # torchrun passes it on to both replicas
    output, _ = process.communicate(timeout=120)
    state = torch.load(run / "checkpoint" / "train_state.pt", weights_only=True)
    total = 400 * 8192 // 64
    assert 0 < state["loop"]["step"] < total, output
    assert len(state["rng_replicas"]) == 2 and not (run / "checkpoint.tmp").exists()
    stopped = state["loop"]["step"]
    resumed = {**spec, "model": None, "resume": True, "overrides": ["train.epochs=" + str(state["loop"]["epoch"] + 1)]}
    torchrun(resumed, run, tmp_path / "dump")
    state = torch.load(run / "checkpoint" / "train_state.pt", weights_only=True)
    assert state["loop"]["step"] > stopped and state["loop"]["epoch"] == resumed_epochs(resumed)
    first, second = params(tmp_path / "dump", 0), params(tmp_path / "dump", 1)
    assert all(torch.equal(first[k], second[k]) for k in first)


def resumed_epochs(spec: dict) -> int:
    return int(spec["overrides"][0].split("=")[1])


def test_the_global_batch_must_divide_among_the_processes_and_nproc_is_checked(tmp_path, capsys):
    from genlab.distributed import Replicas
    from genlab.testing import synthetic_images, tiny_model
    from genlab.training.loop import Trainer

    model, config = tiny_model("gan")
    config.train.batch_size = 8
    data = synthetic_images(32)
    with pytest.raises(GenlabError, match="must divide among the 3 processes"):
        Trainer(model, config, data, data.head(1), tmp_path, torch.device("cpu"), replicas=Replicas(0, 3, 0))
    code, _, err = run_cli(capsys, "train", "gan", "--nproc", "0", "--out", tmp_path / "x")
    assert code == 2 and "--nproc must be at least 1" in err and not (tmp_path / "x").exists()


def test_per_sample_noise_is_the_global_batch_cut_into_shares():
    from genlab.ops import batch_shard, per_sample, reparameterize

    torch.manual_seed(0)
    whole = torch.randn(8, 3)
    shares = []
    for rank in range(2):
        torch.manual_seed(0)
        with batch_shard(rank, 2):
            shares.append(per_sample(lambda n: torch.randn(n, 3), 4))
    assert torch.equal(torch.cat(shares), whole)
    torch.manual_seed(0)
    assert torch.equal(reparameterize(torch.zeros(8, 3), torch.zeros(8, 3)), whole)  # outside: one process's draw
    with batch_shard(1, 2):
        torch.manual_seed(0)
        assert torch.equal(reparameterize(torch.zeros(4, 3), torch.zeros(4, 3)), whole[4:])

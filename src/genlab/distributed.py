"""Data-parallel training over processes started by torchrun: which replica this is, and the few collectives
the loop needs (gloo on CPUs, NCCL on GPUs).

Gradients are averaged with one all-reduce of their flattened concatenation per phase, after that phase's
backward pass (the StyleGAN2 way) rather than through DistributedDataParallel wrappers: it works unchanged
for every model family -- GAN phases that train one network each, gradient penalties and R1 that need a
double backward (which DDP's hooks do not support), CycleGAN's four networks, parameters a batch leaves
unused -- and the non-finite flag of the step travels in the same message, so every replica skips together.
Batch-norm statistics stay per replica (like ``broadcast_buffers=False``); replica 0's are saved.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist

from .errors import GenlabError


@dataclass(frozen=True)
class Replicas:
    """This process's place among the data-parallel replicas (rank 0 of 1 when training alone)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Replica 0 alone writes logs, pictures and checkpoints."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def shard(self, indices: torch.Tensor) -> torch.Tensor:
        """This replica's contiguous share of one global batch (its size divides by the number of replicas)."""
        size = len(indices) // self.world
        return indices[self.rank * size : (self.rank + 1) * size]


def from_environment() -> Replicas:
    """The replica torchrun started (RANK, WORLD_SIZE, LOCAL_RANK), or a lone process."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        raise GenlabError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (torchrun sets them)") from None
    return Replicas(rank, world, local)


def start(replicas: Replicas, device: torch.device) -> torch.device:
    """Join the process group (NCCL for CUDA, gloo otherwise); each replica takes its own GPU."""
    if device.type == "cuda":
        device = torch.device("cuda", replicas.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(
            "nccl" if device.type == "cuda" else "gloo", rank=replicas.rank, world_size=replicas.world
        )
    return device


def stop(finished: bool = False) -> None:
    """Leave the process group (a no-op when none was joined); a replica that ``finished`` first waits for the
    others, so none closes its connections while another still receives from it."""
    if dist.is_available() and dist.is_initialized():
        if finished:
            dist.barrier()
        dist.destroy_process_group()


def average_gradients(params: Iterable[torch.nn.Parameter], skipped: torch.Tensor, world: int) -> torch.Tensor:
    """Replace every gradient by its mean over the replicas (a missing gradient counts as zeros) and return
    whether any replica's step was skipped, in one all-reduce."""
    params = list(params)
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1).float() for g in grads] + [skipped.float().reshape(1)])
    dist.all_reduce(flat)
    offset = 0
    for p, g in zip(params, grads):
        g.copy_(flat[offset : offset + g.numel()].view(g.shape) / world)  # keeps the gradient's memory layout
        p.grad = g
        offset += g.numel()
    return flat[-1] > 0


def join_replicas(replicas: Replicas, model: torch.nn.Module, batch_size: int) -> None:
    """Start every replica from replica 0's weights. They share one random stream: per-sample noise is drawn for
    the global batch and cut to each share (ops.batch_shard), so N processes draw what one would."""
    if not replicas.active:
        return
    if batch_size % replicas.world:
        raise GenlabError(
            f"train.batch_size={batch_size} is the global batch and must divide among the "
            f"{replicas.world} processes; use a multiple of {replicas.world}"
        )
    broadcast_module(model)


def gradient_sync(replicas: Replicas) -> Callable[[list, torch.Tensor], torch.Tensor] | None:
    """How a phase's gradients become the replicas' mean, agreeing on a skipped step (None when training alone)."""
    if not replicas.active:
        return None
    return lambda params, skipped: average_gradients(params, skipped, replicas.world)


def any_replica(flag: bool, device: torch.device) -> bool:
    """True on every replica when ``flag`` is true on any (e.g. a stop signal reached one of them)."""
    value = torch.tensor([float(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def broadcast_module(module: torch.nn.Module) -> None:
    """Replica 0's parameters and buffers on every replica."""
    for tensor in module.state_dict().values():
        dist.broadcast(tensor, 0)


def gather_objects(obj: object, world: int) -> list:
    """``obj`` of every replica, in rank order, on every replica."""
    out: list = [None] * world
    dist.all_gather_object(out, obj)
    return out


def sum_over_replicas(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` summed over the replicas, in place; returned for chaining."""
    dist.all_reduce(tensor)
    return tensor

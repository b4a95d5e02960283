"""One optimization step of every phase, the learning-rate schedule and the test loss: pure functions the loop
calls."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import torch

from ..data import ImageData, batches
from ..errors import GenlabError
from ..optim import step_unless

GradientSync = Callable[[list, torch.Tensor], torch.Tensor]  # (parameters, skipped) -> skipped on every replica


def optimization_step(
    model: Any,
    optimizers: dict[str, torch.optim.Optimizer],
    batches: list[tuple],
    amp: Callable[[], Any],
    sync: GradientSync | None = None,
    grad_limits: tuple[float, float] = (0.0, 0.0),
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """One step of every phase in order; phase i trains on ``batches[i]`` (the last batch once they run
    out), so n critic phases see n fresh real batches. A phase whose loss is not finite, and every phase after
    it, updates nothing -- decided on the device, with no host synchronisation. ``sync`` averages a phase's
    gradients over data-parallel replicas and agrees on the skip. A skipped step changes nothing: every buffer
    (batch-norm statistics, spectral-norm vectors) and, when an earlier phase already stepped, every weight and
    optimizer moment is put back. ``grad_limits`` (clip, skip) clip each phase's gradient norm and skip the step
    when it exceeds ``skip`` (``gradient_gate``). Returns the logged scalars and a 0-d bool tensor, true when a
    loss was not finite."""
    logged: dict[str, torch.Tensor] = {}
    multi = len(model.step_phases) > 1
    saved = snapshot(model, optimizers if multi else {})
    skipped = held = None
    for index, phase in enumerate(model.step_phases):
        opt = optimizers[phase]
        opt.zero_grad(set_to_none=True)
        with amp():
            out = model.loss(batches[min(index, len(batches) - 1)], phase)
        loss = out["loss"]
        bad = ~torch.isfinite(loss.detach())
        skipped = bad if skipped is None else skipped | bad
        loss.backward()
        params = [p for group in opt.param_groups for p in group["params"]]
        if sync is not None:
            skipped = sync(params, skipped)
        gate, too_big = gradient_gate(params, *grad_limits)
        blocked = skipped if too_big is None else skipped | too_big
        held = blocked if held is None else held | blocked
        step_unless(opt, held)
        model.after_phase(phase, (~held).float())
        out = {**out, **gate}
        logged.update({(f"{phase}/{k}" if len(model.phases) > 1 else k): v.detach().float() for k, v in out.items()})
    restore_if(held, saved, optimizers if multi else {})
    return logged, skipped


def gradient_gate(params: list, clip: float, skip: float) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """Clip the gradient norm to ``clip`` and flag the update for skipping when the norm before clipping exceeds
    ``skip`` (Child 2021, VDVAE: outlier updates skipped); 0 turns either off. Returns the logged norm and skip flag
    (decided on the device), or nothing when both are off."""
    if not (clip or skip):
        return {}, None
    norm = torch.nn.utils.clip_grad_norm_(params, clip or float("inf"), foreach=None)
    too_big = norm > skip if skip else torch.zeros((), dtype=torch.bool, device=norm.device)
    return {"grad_norm": norm, "grad_skipped": too_big.float()}, too_big


Snapshot = dict[int, tuple[torch.Tensor, torch.Tensor]]  # id(tensor) -> (tensor, its value before the step)


def state_tensors(optimizers: dict[str, torch.optim.Optimizer]) -> list[torch.Tensor]:
    """Every tensor of the optimizers' per-parameter state (Adam's moments and step counts)."""
    return [
        v
        for opt in distinct_optimizers(optimizers).values()
        for state in opt.state.values()
        for v in state.values()
        if torch.is_tensor(v)
    ]


@torch.no_grad()
def snapshot(model: Any, optimizers: dict[str, torch.optim.Optimizer]) -> Snapshot:
    """Copies of the model's buffers, and of its weights and the optimizers' state when ``optimizers`` are given."""
    tensors = [*model.buffers(), *(model.parameters() if optimizers else ()), *state_tensors(optimizers)]
    return {id(t): (t, t.detach().clone()) for t in tensors}


@torch.no_grad()
def restore_if(skipped: torch.Tensor, saved: Snapshot, optimizers: dict[str, torch.optim.Optimizer]) -> None:
    """When ``skipped``, put every saved tensor back; optimizer state created during the step goes back to zeros,
    which Adam reads as fresh state (decided on the device, no synchronisation)."""
    for tensor, before in saved.values():
        tensor.copy_(torch.where(skipped, before, tensor))
    for tensor in state_tensors(optimizers):
        if id(tensor) not in saved:
            tensor.copy_(torch.where(skipped, torch.zeros_like(tensor), tensor))


def grouped(stream: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    """Consecutive batches in groups of ``size``; an incomplete last group is dropped."""
    group: list[tuple] = []
    for item in stream:
        group.append(item)
        if len(group) == size:
            yield group
            group = []


LR_SCHEDULES = ("constant", "cosine", "linear_decay")


def lr_factor(schedule: str, step: int, total: int, min_ratio: float) -> float:
    """Multiplier of the base learning rate: constant; cosine decay (Loshchilov & Hutter 2017); or
    linear_decay, constant for the first half and then linear to ``min_ratio`` at the last step (Zhu et al.
    2017, Sec. 7.1: 100 epochs at lr, 100 decaying to 0)."""
    progress = min(step / max(total, 1), 1.0)
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    if schedule == "linear_decay":
        return min_ratio + (1 - min_ratio) * min(1.0, 2 * (1 - progress))
    raise GenlabError(f"train.lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {schedule!r}")


@torch.no_grad()
def evaluate_loss(model: Any, data: ImageData, batch_size: int, seed: int) -> dict[str, float]:
    """Mean of every scalar of the model's first phase over ``data``, with fixed randomness."""
    was_training = model.training
    model.eval()
    sums: dict[str, float] = defaultdict(float)
    devices = [data.device] if data.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        gen = torch.Generator(device=data.device).manual_seed(seed)
        for x, y in batches(data, batch_size):
            out = model.loss((model.prepare(x, gen), y), model.phases[0])
            for k, v in out.items():
                sums[k] += float(v) * x.shape[0]
    model.train(was_training)
    return {k: v / len(data) for k, v in sums.items()}


def distinct_optimizers(optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, torch.optim.Optimizer]:
    """Each optimizer once, under the first phase that uses it (phases may share one)."""
    seen: dict[int, str] = {}
    for phase, opt in optimizers.items():
        seen.setdefault(id(opt), phase)
    return {phase: optimizers[phase] for phase in seen.values()}

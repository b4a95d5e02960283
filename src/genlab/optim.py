"""Optimizers for the training loop: fused Adam where the device has the kernel, a step that a non-finite loss
cancels on the device, without a host synchronisation, and the exponential moving average of weights that
generators and denoisers sample with."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn


def adam(params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, ...]) -> torch.optim.Adam:
    """Adam (Kingma & Ba 2015) with the fused kernel (one launch per step on CUDA, fastest on CPU too) when
    every parameter's device has it; the foreach implementation otherwise."""
    params = list(params)
    devices = {p.device.type for p in params}
    fused = bool(params) and devices <= {"cpu", "cuda"} and all(p.is_floating_point() for p in params)
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), **({"fused": True} if fused else {"foreach": True}))


def skips_on_device(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer.step()`` honours ``found_inf`` (fused Adam/AdamW/SGD: the update, moments and step
    count are left as they were when it is 1)."""
    return all(group.get("fused") for group in optimizer.param_groups)


def step_unless(optimizer: torch.optim.Optimizer, skip: Tensor) -> None:
    """``optimizer.step()`` unless ``skip`` (a 0-d bool tensor) is true; decided on the device when the optimizer
    can, else with one host synchronisation."""
    if skips_on_device(optimizer):
        optimizer.found_inf = skip.float()  # the attribute GradScaler uses to tell fused kernels to skip
        try:
            optimizer.step()
        finally:
            optimizer.found_inf = None
    elif not bool(skip):
        optimizer.step()


def warmed_up_decay(decay: float, step: int) -> float:
    """An EMA decay ramped up as min(decay, (1 + t) / (10 + t)) over steps t, so that the average forgets the
    random initialization (otherwise 0.999**t of it remains: 21% after 1,562 steps)."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float, applied: Tensor | None = None) -> None:
    """ema <- decay * ema + (1 - decay) * model for parameters (no move where ``applied`` is 0); buffers (BN
    statistics) are copied."""
    weight = 1 - decay if applied is None else (1 - decay) * applied
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p, weight)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)

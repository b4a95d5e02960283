"""Optimizers for the training loop: fused Adam where the device has the kernel, and a step that a
non-finite loss cancels on the device, without a host synchronisation."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor


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

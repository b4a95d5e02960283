"""Devices: which one to run on, mixed precision, and memory layouts for inference."""
from __future__ import annotations

import contextlib

import torch

from .errors import GenlabError


def pick_device(name: str = "auto") -> torch.device:
    """auto -> cuda, then mps, then cpu; an explicit name must be available."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise GenlabError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GenlabError("train.device=cuda but no CUDA GPU is available; use train.device=auto or cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise GenlabError("train.device=mps but MPS is not available; use train.device=auto or cpu")
    return device


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast when asked for (no grad scaler needed); a no-op for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    raise GenlabError(f"train.precision must be fp32 or bf16, got {precision!r}")


def inference_layout(model: torch.nn.Module) -> torch.nn.Module:
    """channels_last weights for a model used only for inference: CPU transposed convolutions take the
    oneDNN path and run ~1.4x faster (measured on the VAE decoder); results equal to fp32 round-off."""
    return model.to(memory_format=torch.channels_last)

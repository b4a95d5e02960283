"""``train.compile=true``: torch.compile the model's networks in place, tried on one step first, and training
eagerly -- with a warning -- when compiling fails (on some PyTorch versions and memory layouts it does)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch


def compile_networks(
    model: Any, trial: Callable[[], None], generator: torch.Generator, echo: Callable[[str], None]
) -> list[str]:
    """Compile ``model.compile_targets()`` in place (checkpoint names stay those of the plain modules), run
    ``trial`` (one forward and backward pass of every phase), and leave the model, its training state and
    every random state as they were before it; undo the compilation when the trial fails. Returns the
    compiled names."""
    names = model.compile_targets()
    modules = [getattr(model, name) for name in names]
    for module in modules:
        module.compile()
    weights = copy.deepcopy(model.state_dict())
    extra = {k: v.clone() for k, v in model.resume_state().items()}
    data_state = generator.get_state()
    devices = [generator.device] if generator.device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            trial()
        return names
    except Exception as error:
        for module in modules:
            module._compiled_call_impl = None  # what nn.Module.compile() set: calls go to forward() again
        lines = str(error).strip().splitlines() or [type(error).__name__]
        echo(f"warning: torch.compile failed ({type(error).__name__}: {lines[0][:200]}); training eagerly")
        return []
    finally:
        model.load_state_dict(weights)
        model.load_resume_state(extra)
        generator.set_state(data_state)
        model.zero_grad(set_to_none=True)

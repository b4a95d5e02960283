"""Run by torchrun (or alone) in tests/test_distributed.py: train one run as described by a JSON argument, and
save this replica's parameters after every epoch to DUMP/params_<rank>.safetensors.

    torchrun --standalone --nproc-per-node 2 tests/helpers/ddp_worker.py '{"model": "gan", ...}' DUMP
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from safetensors.torch import save_file

import genlab
from genlab.distributed import from_environment
from genlab.training import Callback


class SaveParameters(Callback):
    """This replica's parameters after each epoch."""

    def __init__(self, path: Path):
        self.path = path

    def on_epoch_logged(self, trainer, record) -> None:
        save_file({k: v.detach().contiguous().cpu() for k, v in trainer.model.named_parameters()}, str(self.path))


def main(spec: dict, dump: Path) -> None:
    """``spec``: genlab.train's keyword arguments (model as "model")."""
    dump.mkdir(parents=True, exist_ok=True)
    spec = dict(spec)
    genlab.train(spec.pop("model", None), **spec, echo=lambda line: None,
                 callbacks=[SaveParameters(dump / f"params_{from_environment().rank}.safetensors")])


if __name__ == "__main__":
    main(json.loads(sys.argv[1]), Path(sys.argv[2]))

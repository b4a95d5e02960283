"""Run by torchrun (or called) in tests/test_distributed.py: train one run as described by a JSON argument, and
save this replica's parameters after every epoch to DUMP/params_<rank>.safetensors.

    torchrun --standalone --nproc-per-node 2 -m genlab.testing.ddp_worker '{"model": "gan", ...}' DUMP
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from safetensors.torch import save_file

from ..distributed import from_environment
from ..training import Callback, train


class SaveParameters(Callback):
    """This replica's parameters after each epoch."""

    def __init__(self, path: Path):
        self.path = path

    def on_epoch_logged(self, trainer, record) -> None:
        save_file({k: v.detach().contiguous().cpu() for k, v in trainer.model.named_parameters()}, str(self.path))


def main(spec: dict, dump: Path) -> None:
    """``spec``: genlab.training.train's keyword arguments (model as "model")."""
    dump.mkdir(parents=True, exist_ok=True)
    spec = dict(spec)
    train(
        spec.pop("model", None),
        **spec,
        echo=lambda line: None,
        callbacks=[SaveParameters(dump / f"params_{from_environment().rank}.safetensors")],
    )


if __name__ == "__main__":
    main(json.loads(sys.argv[1]), Path(sys.argv[2]))

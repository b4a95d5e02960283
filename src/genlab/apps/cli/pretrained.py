"""genlab save-pretrained: a run's model as a self-contained folder in the Hugging Face Hub's layout -- config.json
(the run config), model.safetensors, checksums.json, eval.json (the scores of these weights) and a model card
(README.md with a machine-readable model-index, samples.png) -- that genlab.from_pretrained loads back; upload the
folder to the Hub as it is (huggingface-cli upload user/name DIR)."""

from __future__ import annotations

import argparse

from .verbs import help_of

EXAMPLES = """examples:
  genlab save-pretrained runs/vae vae-mnist          # then: genlab.from_pretrained("vae-mnist")
  genlab save-pretrained runs/vae/checkpoint vae-mnist   # a checkpoint folder, or an export folder with weights
  huggingface-cli upload me/vae-mnist vae-mnist      # then anywhere: genlab.from_pretrained("me/vae-mnist")
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "save-pretrained",
        help=help_of("save-pretrained"),
        description=__doc__,
        epilog=EXAMPLES,
    )
    p.add_argument("run", metavar="RUN", help="run folder written by `genlab train` (or anything genlab.load reads)")
    p.add_argument("out", metavar="DIR", help="folder to write: missing, empty, or one save-pretrained wrote")
    p.add_argument("--force", action="store_true", help="write into another non-empty DIR (same names replaced)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ...pretrained import FILES, load
    from ..api import save_pretrained

    folder = save_pretrained(load(args.run), args.out, force=args.force)
    print(f"wrote {folder}: {', '.join(name for name in FILES if (folder / name).is_file())}")
    return 0

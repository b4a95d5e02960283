"""genlab verify: check every file of a run's checkpoint against the sha256 recorded in its checksums.json (every
load does this too, and refuses a checkpoint whose record is missing or damaged); --rehash records the files as
they are now, for a checkpoint changed on purpose."""

from __future__ import annotations

import argparse
from pathlib import Path

from ...errors import GenlabError
from .verbs import help_of

EXAMPLES = """examples:
  genlab verify runs/vae             # every checkpoint file matches its recorded sha256, or one line and exit 2
  genlab verify runs/vae --rehash    # after editing the weights on purpose: record them as they are now
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help=help_of("verify"),
        description=__doc__,
        epilog=EXAMPLES,
    )
    p.add_argument("run", metavar="RUN", help="run folder written by `genlab train`")
    p.add_argument(
        "--rehash",
        action="store_true",
        help="record the checkpoint's files as they are now, once its "
        "weights load into the configured model and are finite",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ...runs import checkpoint_dir

    names = rehash_checkpoint(args.run) if args.rehash else verify_checkpoint(args.run)
    done = "recorded" if args.rehash else "match their checksums"
    print(f"{checkpoint_dir(args.run)}: {', '.join(names)} {done}")
    return 0


def verify_checkpoint(run: str | Path) -> list[str]:
    """Every checksummed file of a run's checkpoint checked; the names checked (one clear line on the first bad).
    The model card and eval.json are documentation that genlab rewrites at any time: never checked."""
    from ...runs import CARD_FILES, CHECKSUMS, EVAL, checkpoint_dir, verify_file

    folder = checkpoint_dir(run)
    unsummed = (CHECKSUMS, EVAL, *CARD_FILES)  # eval.json (of a checkpoint or save_pretrained folder): genlab eval's
    names = sorted(f.name for f in folder.iterdir() if f.is_file() and f.name not in unsummed)
    for name in names:
        verify_file(folder / name)
    return names


def rehash_checkpoint(run: str | Path) -> list[str]:
    """Record a checkpoint's files as they are now (after edits made on purpose), once its config builds the model
    and its weights load into it and are finite; the names recorded. A refusal keeps the old record."""
    import torch

    from ...config import read_run_dict
    from ...models import build_model, run_config
    from ...runs import CONFIG, WEIGHTS, checkpoint_dir, load_weights, read_checksums, write_checksums

    folder = checkpoint_dir(run)
    config = run_config(read_run_dict(folder / CONFIG))
    model = build_model(config.model_name, config.model)
    load_weights(model, folder / WEIGHTS, config.model_name, verify=False)
    if not all(torch.isfinite(t).all() for t in model.state_dict().values() if t.is_floating_point()):
        raise GenlabError(f"{folder / WEIGHTS} holds non-finite weights; they are not recorded as good")
    write_checksums(folder)
    return sorted(read_checksums(folder) or {})

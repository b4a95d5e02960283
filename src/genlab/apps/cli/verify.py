"""genlab verify: check every file of a run's checkpoint against the sha256 recorded in its checksums.json (every
load does this too, and refuses a checkpoint whose record is missing or damaged); --rehash records the files as
they are now, for a checkpoint changed on purpose."""
from __future__ import annotations

import argparse

EXAMPLES = """examples:
  genlab verify runs/vae             # every checkpoint file matches its recorded sha256, or one line and exit 2
  genlab verify runs/vae --rehash    # after editing the weights on purpose: record them as they are now
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="check a run's checkpoint against its checksums (or record them anew)",
                       description=__doc__, epilog=EXAMPLES)
    p.add_argument("run", metavar="RUN", help="run folder written by `genlab train`")
    p.add_argument("--rehash", action="store_true", help="record the checkpoint's files as they are now, once its "
                   "weights load into the configured model and are finite")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ...runs import checkpoint_dir, rehash_checkpoint, verify_checkpoint

    names = rehash_checkpoint(args.run) if args.rehash else verify_checkpoint(args.run)
    done = "recorded" if args.rehash else "match their checksums"
    print(f"{checkpoint_dir(args.run)}: {', '.join(names)} {done}")
    return 0

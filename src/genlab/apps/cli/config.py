"""genlab config: every option of a model's runs -- model, data and training keys -- with its type, its default
(after the model's paper settings and a preset) and what it means; and the model's presets."""

from __future__ import annotations

import argparse
import json

from .verbs import help_of

EXAMPLES = """examples:
  genlab config vae                      # every key of a VAE run, its type, default and meaning
  genlab config cyclegan --preset digits # the values the digits preset sets
  genlab config gan --json > keys.json   # the same as JSON
  genlab train vae --dry-run --out runs/vae > run.json; genlab train --config run.json --out runs/vae
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help=help_of("config"), description=__doc__, epilog=EXAMPLES)
    p.add_argument("model", metavar="MODEL", help="a registered model (genlab train --help lists them)")
    p.add_argument("--preset", help="show the values after this preset of the model")
    p.add_argument("--json", action="store_true", help="print a JSON list of {key, type, default, meaning}")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ...config import config_rows
    from ...models import default_config, get_model_class

    rows = config_rows(default_config(args.model, args.preset))
    if args.json:
        keys = ("key", "type", "default", "meaning")
        print(json.dumps([dict(zip(keys, (k, t, json.loads(v), m))) for k, t, v, m in rows], indent=2))
        return 0
    presets = ", ".join(get_model_class(args.model).presets) or "none"
    print(f"{args.model} (presets: {presets}){f'; values after --preset {args.preset}' if args.preset else ''}")
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
    return 0

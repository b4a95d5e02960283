"""The `genlab` command: one thin verb per library function."""

from __future__ import annotations

import importlib
import sys

from ...errors import GenlabError, TrainingInterrupted
from .common import Parser
from .verbs import VERBS


def build_parser(verbs: list[str] | None = None) -> Parser:
    """The `genlab` parser: every verb's options (``verbs`` None), or only those of ``verbs``, the others listed
    by name and help line alone, which imports no verb module."""
    parser = Parser(
        prog="genlab",
        description="Generative image models: train, sample, interpolate, translate, adapt, evaluate.",
        epilog="example:\n  genlab train vae --data mnist --preset quick --out runs/vae\n"
        "  genlab sample runs/vae -n 64 --seed 0 -o samples.png",
    )
    from ...version import __version__

    parser.add_argument("--version", action="version", version=f"genlab {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=Parser)
    sub.required = True
    wanted = list(VERBS) if verbs is None else verbs
    modules = dict.fromkeys(VERBS[verb].module for verb in wanted if verb in VERBS)
    for module in modules:
        importlib.import_module(f"{__name__}.{module}").register(sub)
    for verb, (_, line) in VERBS.items():
        if verb not in sub.choices:
            sub.add_parser(verb, help=line)
    return parser


def verb_of(argv: list[str]) -> list[str]:
    """The verb named in ``argv`` (its first word that is no option), as a list of none or one."""
    words = [a for a in argv if not a.startswith("-")]
    return words[:1] if words and words[0] in VERBS else []


def main(argv: list[str] | None = None) -> int:
    """Entry point: one line on stderr and a distinct exit code for what stopped it: 2 a user mistake,
    3 diverged training, 128 + N a signal N that interrupted training (docs/reliability.md)."""
    try:
        argv = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
        args = build_parser(verb_of(argv)).parse_args(argv)
        args.argv = argv  # verbs that relaunch themselves (train --nproc)
        return args.func(args) or 0
    except TrainingInterrupted as e:
        print(f"genlab: {e}", file=sys.stderr)
        return e.exit_code
    except GenlabError as e:
        print(f"genlab: error: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:
        print(f"genlab: error: {e}", file=sys.stderr)
        return 2
    except (MemoryError, RuntimeError) as e:
        if not out_of_memory(e):
            raise
        print(
            "genlab: error: out of memory; lower train.batch_size, model.image_size or the model's widths "
            "(what is saved stays)",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("genlab: interrupted", file=sys.stderr)
        return 130


def out_of_memory(error: BaseException) -> bool:
    """A failed allocation: Python's MemoryError, torch's CPU allocator or a GPU out of memory."""
    text = str(error)
    return isinstance(error, MemoryError) or "can't allocate memory" in text or "out of memory" in text


if __name__ == "__main__":
    sys.exit(main())

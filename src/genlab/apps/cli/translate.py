"""genlab translate: map images from one domain to the other with a trained CycleGAN, UNIT or refiner (a2b), or
into a diffusion model's domain by SDEdit (--strength)."""

from __future__ import annotations

import argparse
from typing import Any

from ...samplers import sampler_names
from .common import COUNT, SEED, add_run, load_model, number
from .verbs import help_of

EXAMPLES = """examples:
  genlab translate runs/cyclegan --direction a2b photo.png --out translated/
  genlab translate runs/cyclegan --direction b2a testB/ --out fakeA/ --grid   # a folder, recursively
  genlab translate runs/cyclegan --direction a2b a.png b.png --out out/ --force
  genlab translate runs/refiner --direction a2b synthetic/ --out refined/   # SimGAN: synthetic -> real only
  genlab translate runs/diffusion-mnistm --strength 0.5 mnist-digits/ --out edited/ --grid   # SDEdit

Each output keeps the input's name (for folders: its path below the folder) and is written at the
model's resolution; --grid adds out/grid_a2b.png with rows input | translated | cycled back (a refiner
and SDEdit have no way back: input | translated). SDEdit noises each input (noise drawn from --seed) and
denoises it with a diffusion model of the target domain: --strength near 0 keeps the input, 1 ignores it.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("translate", help=help_of("translate"), description=__doc__, epilog=EXAMPLES)
    add_run(p)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders (searched recursively)")
    p.add_argument(
        "--direction",
        choices=("a2b", "b2a"),
        help="a2b: domain A to B (generator G, or the refiner); b2a: B to A (generator F); "
        "needed for models that translate both ways",
    )
    p.add_argument(
        "--strength",
        type=number(0, 1),
        help="diffusion models (SDEdit, Meng et al. 2022): how far up the noise levels each input is noised "
        "before denoising into the model's domain: near 0 keeps it, 1 draws anew (try 0.5)",
    )
    p.add_argument("--sampler", choices=sampler_names(), help="diffusion models: the sampler (default: the run's)")
    p.add_argument("--steps", type=COUNT, help="diffusion models: levels of the full schedule (default: the run's)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the translated images")
    p.add_argument(
        "--grid",
        action="store_true",
        help="also write DIR/grid_<direction>.png: input | translated | cycled (first 64 inputs)",
    )
    p.add_argument("--batch-size", type=COUNT, default=64, help="images translated at once (default 64)")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.add_argument(
        "--seed",
        type=SEED,
        default=0,
        help="seed of the styles a translator with style codes (model.style_dim > 0) draws, or of SDEdit's noise "
        "(default 0)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ...errors import GenlabError
    from ..translate import translate_files

    if args.batch_size < 1:
        raise GenlabError("--batch-size must be at least 1")
    model, _ = load_model(args)
    model = sdedit_translator(model, args)
    written = translate_files(
        model,
        args.inputs,
        args.out,
        args.direction or only_direction(model),
        grid=args.grid,
        force=args.force,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    print(f"wrote {len(written)} file(s) to {args.out}")
    return 0


def sdedit_translator(model: Any, args: argparse.Namespace) -> Any:
    """A diffusion model translates by SDEdit at --strength; the diffusion options are one clear line for others."""
    from ...errors import GenlabError
    from ...samplers import SDEditTranslator, choose_sampling

    if not model.supports("edit"):
        if args.strength is not None:
            raise GenlabError(f"--strength is for diffusion models (SDEdit); model {model.name!r} translates directly")
        choose_sampling(model, args.sampler, args.steps)  # one line for --sampler/--steps
        return model
    if args.strength is None:
        raise GenlabError("a diffusion model translates by SDEdit: give --strength (0 < s <= 1; try 0.5)")
    choose_sampling(model, args.sampler, args.steps)
    return SDEditTranslator(model, args.strength)


def only_direction(model: Any) -> str:
    """The direction of a one-way model (refiner, SDEdit); one clear line for a model that translates both ways."""
    from ...errors import GenlabError

    ways = getattr(model, "directions", ())
    if len(ways) != 1:
        raise GenlabError(f"model {model.name!r} translates {' and '.join(ways) or 'no way'}: give --direction")
    return ways[0]

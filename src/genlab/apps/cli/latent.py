"""genlab reconstruct / interpolate / traverse: look inside a model's latent space."""

from __future__ import annotations

import argparse

import torch

from ...data.folder import read_images
from ...errors import GenlabError
from ...samplers import class_labels, encode_images, interpolate, manifold_grid, path_labels, prior_codes, traverse
from ...viz import interleave_rows, save_grid
from .common import (
    COUNT,
    SEED,
    add_output,
    add_run,
    check_grid,
    integer,
    load_model,
    number,
    report,
    require_images,
    resolve_output,
)
from .verbs import help_of

RECONSTRUCT_EXAMPLES = """examples:
  genlab reconstruct runs/vae -n 32            # test images (top rows) and their reconstructions
  genlab reconstruct runs/vae --images a.png b.png -o recon.png
"""
INTERPOLATE_EXAMPLES = """examples:
  genlab interpolate runs/vae --seeds 0 1 --steps 10 --method slerp
  genlab interpolate runs/vae --images three.png eight.png --method lerp -o morph.png
  genlab interpolate runs/cgan --seeds 3 4 --label 7   # class-conditional: the whole path in class 7
"""
TRAVERSE_EXAMPLES = """examples:
  genlab traverse runs/vae --dims 0,1,2,3 --span 3 --steps 9
  genlab traverse runs/vae2d --steps 20        # 2-D latent: the manifold grid (Kingma & Welling Fig. 4)
  genlab traverse runs/cvae --label 2          # class-conditional: style dimensions within class 2
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reconstruct",
        help=help_of("reconstruct"),
        description="Encode images and decode them again.",
        epilog=RECONSTRUCT_EXAMPLES,
    )
    add_run(p)
    p.add_argument("-n", type=COUNT, default=32, help="test images to reconstruct (default 32)")
    p.add_argument("--images", nargs="+", metavar="IMAGE", help="reconstruct these files instead")
    add_label(p, "class to decode in (conditional models; default: the test labels, or 0 for --images)")
    add_output(p, "reconstructions.png")
    p.set_defaults(func=run_reconstruct)
    register_interpolate(sub)
    register_traverse(sub)


def register_interpolate(sub: argparse._SubParsersAction) -> None:
    """genlab interpolate: images along a path between two codes."""
    p = sub.add_parser(
        "interpolate",
        help=help_of("interpolate"),
        description="Decode codes along a lerp/slerp path between two seeds or two images.",
        epilog=INTERPOLATE_EXAMPLES,
    )
    add_run(p)
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--seeds",
        nargs=2,
        type=SEED,
        default=[0, 1],
        metavar=("A", "B"),
        help="two prior samples by seed (default 0 1)",
    )
    src.add_argument("--images", nargs=2, metavar=("A", "B"), help="two image files to encode")
    p.add_argument("--steps", type=integer(2), default=10, help="images along the path (default 10)")
    p.add_argument(
        "--method",
        choices=("slerp", "lerp"),
        default="slerp",
        help="slerp: along the great circle, where Gaussian codes live (default); lerp: the straight line",
    )
    add_label(p)
    add_output(p, "interpolation.png")
    p.set_defaults(func=run_interpolate)


def register_traverse(sub: argparse._SubParsersAction) -> None:
    """genlab traverse: latent dimensions swept one at a time, or the 2-D manifold grid."""
    p = sub.add_parser(
        "traverse",
        help=help_of("traverse"),
        description="One row per latent dimension swept over [-span, span] around a code; "
        "a 2-D latent space gives the manifold grid.",
        epilog=TRAVERSE_EXAMPLES,
    )
    add_run(p)
    p.add_argument("--dims", help="comma-separated dimensions (default: the first 10)")
    p.add_argument("--span", type=number(0), default=3.0, help="sweep -span..span (default 3)")
    p.add_argument("--steps", type=integer(2), help="values per row (default 9; 20 for the 2-D manifold grid)")
    p.add_argument("--seed", type=SEED, help="base code from this prior seed (default: the zero code)")
    add_label(p)
    add_output(p, "traversal.png")
    p.set_defaults(func=run_traverse)


def add_label(
    p: argparse.ArgumentParser, text: str = "class of every image (class-conditional models; default 0)"
) -> None:
    p.add_argument("--label", type=integer(0), help=text)


def _image_size(config) -> tuple[int, int]:
    return config.model.image_size, config.model.channels


def run_reconstruct(args: argparse.Namespace) -> int:
    model, config = load_model(args)
    model.require("reconstruct", "reconstruct images")
    check_grid(2 * (len(args.images) if args.images else args.n), config.model.image_size, "reconstruct")
    path = resolve_output(args, "reconstructions.png")
    if args.images:
        x = read_images(args.images, *_image_size(config))
        labels = path_labels(model, args.label, len(x))
    else:
        from ...data import load_split

        data = load_split(config, "test").head(max(1, args.n))
        x = data.images.float() / 255
        labels = class_labels(model, args.label, len(x)) if args.label is not None else data.labels
    recon = model.reconstruct(model.prepare(x.to(model.device)), labels).cpu()
    report(save_grid(interleave_rows(x, recon), path, nrow=min(8, len(x)), scale=2))
    return 0


def run_interpolate(args: argparse.Namespace) -> int:
    model, config = load_model(args)
    model.require("decode", "interpolate in latent space")
    require_images(model, "interpolate")
    check_grid(args.steps, config.model.image_size, "interpolate --steps")
    path = resolve_output(args, "interpolation.png")
    if args.images:
        a, b = encode_images(model, read_images(args.images, *_image_size(config)))
    else:
        a, b = prior_codes(model, args.seeds)
    report(save_grid(interpolate(model, a, b, args.steps, args.method, args.label), path, nrow=args.steps, scale=2))
    return 0


def _parse_dims(text: str | None, latent: int) -> list[int]:
    if text is None:
        return list(range(min(10, latent)))
    try:
        return [int(d) for d in text.split(",") if d.strip()]
    except ValueError:
        raise GenlabError(f"--dims expects comma-separated integers, got {text!r}") from None


def run_traverse(args: argparse.Namespace) -> int:
    model, config = load_model(args)
    model.require("decode", "traverse the latent space")
    require_images(model, "traverse")
    path = resolve_output(args, "traversal.png")
    latent = model.latent_dim
    if latent == 2 and args.dims is None:
        steps = args.steps or 20
        check_grid(steps * steps, config.model.image_size, "traverse --steps", scale=1)
        report(save_grid(manifold_grid(model, steps, args.label), path, nrow=steps, pad=0))
        return 0
    steps = args.steps or 9
    check_grid(steps * len(_parse_dims(args.dims, latent)), config.model.image_size, "traverse")
    base = prior_codes(model, [args.seed])[0] if args.seed is not None else torch.zeros(latent, device=model.device)
    report(
        save_grid(
            traverse(model, base, _parse_dims(args.dims, latent), args.span, steps, args.label),
            path,
            nrow=steps,
            scale=2,
        )
    )
    return 0

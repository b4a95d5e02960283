"""genlab sample: draw images from a trained model (a grid picture, or every sample into an .npz or a folder)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ...data import point_centers
from ...errors import GenlabError
from ...export import FORMATS, export_samples
from ...progress import shown
from ...runs import load_run
from ...samplers import (
    PNP_EPS,
    PNP_MAX_STEP,
    choose_sampling,
    class_grid,
    classifier_guidance,
    domain_options,
    evaluations_line,
    paired_samples,
    plug_and_play,
    plug_and_play_sampler,
    sample_images,
    sampler_names,
)
from ...viz import save_grid, save_scatter
from .common import (
    COUNT,
    SEED,
    add_output,
    add_run,
    check_grid,
    integer,
    load_model,
    number,
    output_path,
    report,
    resolve_output,
)

PNP_STEPS = 200  # Plug & Play's chain steps when --steps is not given

EXAMPLES = """examples:
  genlab sample runs/vae -n 64 --seed 0 -o samples.png
  genlab sample runs/vae -n 100 --nrow 10 --seed 7
  genlab sample runs/cgan --label 3 -n 16          # class-conditional models
  genlab sample runs/cgan --by-class -n 8          # one row per class
  genlab sample runs/vae -n 50000 --format npz -o samples.npz   # then: genlab train ... --data npz:samples.npz
  genlab sample runs/vae -n 1000 --format png-dir -o samples/   # samples/000000.png, ...
  genlab sample runs/diffusion --sampler heun --steps 18    # diffusion: any sampler, chosen now
  genlab sample runs/cdiffusion --label 3 --guidance 2      # classifier-free guidance (conditional runs)
  genlab sample runs/gan --guide digits --label 7 --steps 200 -o sevens.png   # Plug & Play: + sevens-chain.png
  genlab sample runs/gan --guide digits-v2 --label 7 -n 1000 --format npz      # guided samples as a file
  genlab sample runs/diffusion --guide digits-v2 --label 7 --guide-scale 2    # classifier guidance
  genlab sample runs/vae --guide digits --label 7 --prior runs/vae-dae   # PPGN-h: a code-dae run as the prior
  genlab sample runs/unit -n 8                     # UNIT: each row one shared code, decoded into A and into B
  genlab sample runs/unit --domain b -n 64         # UNIT: domain B only
  genlab sample runs/hvae --temperature 0.8        # hierarchical VAE: every group's prior std times 0.8
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample", help="draw samples into a PNG grid, an .npz or a folder of PNGs", description=__doc__, epilog=EXAMPLES
    )
    add_run(p)
    p.add_argument("-n", type=COUNT, default=64, help="number of images (default 64)")
    p.add_argument("--seed", type=SEED, default=0, help="random seed (default 0)")
    p.add_argument("--nrow", type=COUNT, help="images per row (default: square grid)")
    p.add_argument("--label", type=integer(0), help="class to draw from (class-conditional models)")
    p.add_argument(
        "--domain",
        choices=("a", "b"),
        help="the domain to decode into (unit); without it a unit run's PNG pairs each code's A and B",
    )
    p.add_argument(
        "--by-class",
        action="store_true",
        help="a class-by-sample grid: one row per class, -n samples each (conditional models)",
    )
    p.add_argument(
        "--format",
        choices=("png",) + FORMATS,
        default="png",
        help="png: one grid picture (default); npz: every sample in genlab's dataset format "
        "(train_images, train_labels, classes; 2-D point models: points); png-dir: one PNG per sample",
    )
    p.add_argument(
        "--batch-size",
        type=COUNT,
        help="samples drawn at once for npz and png-dir (default 500; part of what the seed fixes)",
    )
    add_output(p, "samples-seed{seed}.png, .npz or folder", what="file or folder")
    p.add_argument(
        "--steps",
        type=COUNT,
        help="a diffusion model's noise levels (default: the run's, 18) or Plug & Play's chain steps (default 200)",
    )
    add_temperature(p)
    add_diffusion(p)
    add_guide(p)
    p.set_defaults(func=run)


def add_temperature(p: argparse.ArgumentParser) -> None:
    """The prior's temperature of hierarchical VAEs (Vahdat & Kautz 2020, Sec. 5)."""
    p.add_argument(
        "--temperature",
        type=number(0),
        help="hierarchical VAEs: scale every group's prior std by T when drawing (default 1; 0.8 trades variety "
        "for cleaner digits)",
    )


def add_diffusion(p: argparse.ArgumentParser) -> None:
    """The sampling options of diffusion models (genlab.samplers.diffusion)."""
    g = p.add_argument_group("diffusion models: the sampler, chosen at sampling time")
    g.add_argument(
        "--sampler",
        choices=sampler_names(),
        help="ddpm (ancestral), ddim, euler, heun (EDM's 2nd order), dpmpp-2m (DPM-Solver++(2M)); default: the run's",
    )
    g.add_argument("--eta", type=number(0, 1), help="ddim's eta: 0 deterministic (default), 1 as ancestral DDPM")
    g.add_argument(
        "--guidance",
        type=number(0),
        help="classifier-free guidance weight w (conditional runs): (1 + w) D(x, y) - w D(x); default 0",
    )


def add_guide(p: argparse.ArgumentParser) -> None:
    """Plug & Play options (Nguyen et al. 2017, Eq. 5)."""
    g = p.add_argument_group(
        "guidance by a classifier: Plug & Play (Nguyen et al. 2017), or classifier guidance of diffusion models"
    )
    g.add_argument(
        "--guide",
        help="classifier p(y | x) to steer towards --label: a shipped digit network "
        "(digits, digits-v2, digits-check, digits-plain) or a classifier run folder; several joined by commas "
        "(digits-v2,digits) steer by their ensemble",
    )
    g.add_argument(
        "--guide-scale",
        type=number(0),
        help="diffusion models: weight s of grad log p(y | x0-hat) in each step (Dhariwal & Nichol 2021; default 1)",
    )
    terms = (
        "weight of the prior term d log p(h)/dh",
        "weight of the condition term d log p(y | G(h))/dh",
        "std of the noise added each step",
    )
    for i, (term, default) in enumerate(zip(terms, PNP_EPS), 1):
        g.add_argument(f"--eps{i}", type=number(0), default=default, help=f"{term} (default {default})")
    g.add_argument(
        "--max-step",
        type=number(0),
        default=PNP_MAX_STEP,
        help=f"largest L2 norm of the condition term's step per chain (default {PNP_MAX_STEP}; 0: unclipped)",
    )
    g.add_argument(
        "--prior",
        metavar="RUN",
        help="PPGN-h: a code-dae run on this model's codes; its R(h) - h replaces the model's own prior term",
    )
    g.add_argument(
        "--chain-rows",
        type=integer(0, 64),
        default=8,
        help="chains shown in the second PNG, OUTPUT-chain.png (default 8; 0: none)",
    )


def run(args: argparse.Namespace) -> int:
    if args.nrow is not None and args.nrow < 1:
        raise GenlabError("--nrow must be at least 1")
    if args.batch_size is not None and args.format == "png":
        raise GenlabError("--batch-size is for --format npz and png-dir (the png grid is drawn at once)")
    model, config = load_model(args)
    if args.temperature is not None:
        model.require("set_temperature", "sample at a temperature")
        model.set_temperature(args.temperature)
    if args.guide is not None and args.format == "png" and not model.supports("guide_with"):
        return guided(args, model, config)
    sampling = diffusion_sampling(model, args) if args.guide is None or model.supports("guide_with") else None
    if args.guide is not None:
        model = steered(model, args)
    if args.format != "png":
        return export(args, model, config, sampling)
    domain_options(model, args.domain)  # checks --domain before anything is written
    if not getattr(model, "points", False):
        pairs = 2 if args.domain is None and model.supports("decode_pair") else 1
        check_grid(
            args.n * pairs * (config.model.num_classes if args.by_class else 1), config.model.image_size, "sample"
        )
    path = resolve_output(args, f"samples-seed{args.seed}.png")
    if getattr(model, "points", False):
        report(save_scatter(sample_images(model, args.n, args.seed), path, point_centers(config.data.name)))
    elif args.by_class:
        sample_images(model, 1, args.seed, label=0)  # checks the model is conditional
        report(save_grid(class_grid(model, args.n, args.seed), path, nrow=args.n, scale=2))
    elif args.domain is None and model.supports("decode_pair"):  # the same code in both domains, side by side
        report(save_grid(paired_samples(model, args.n, args.seed).flatten(0, 1), path, nrow=2, scale=2))
    else:
        images = sample_images(model, args.n, args.seed, args.label, args.domain)
        report(save_grid(images, path, nrow=args.nrow, scale=2))
    if sampling is not None:
        print(evaluations_line(model, sampling))
    return 0


def steered(model: Any, args: argparse.Namespace) -> Any:
    """--guide: a diffusion model by classifier guidance, any other by Plug & Play chains (for sample files)."""
    from ...metrics.extractors import load_guide

    if args.label is None or args.by_class:
        raise GenlabError("--guide needs --label (the guide's target class) and draws that class only: no --by-class")
    guide = load_guide(args.guide).to(model.device)
    if model.supports("guide_with"):
        return classifier_guidance(model, guide, args.label, 1.0 if args.guide_scale is None else args.guide_scale)
    pnp_only(args)
    prior = load_run(args.prior, model.device)[0] if args.prior else None
    eps = (args.eps1, args.eps2, args.eps3)
    steps = PNP_STEPS if args.steps is None else args.steps
    return plug_and_play_sampler(model, guide, args.label, steps, eps, prior, args.max_step or None)


def pnp_only(args: argparse.Namespace) -> None:
    """Plug & Play steers a latent chain: the diffusion options mean nothing to it."""
    if any(option is not None for option in (args.sampler, args.eta, args.guidance, args.guide_scale)):
        raise GenlabError("--guide steers a latent chain here: no --sampler, --eta, --guidance or --guide-scale")


def diffusion_sampling(model: Any, args: argparse.Namespace) -> Any:
    """The sampler options given, made the diffusion model's for this command; one clear line for other models."""
    return choose_sampling(model, args.sampler, args.steps, args.eta, args.guidance)


def export(args: argparse.Namespace, model: Any, config: Any, sampling: Any) -> int:
    """--format npz or png-dir: every sample, batch by batch."""
    if args.by_class or args.nrow:
        raise GenlabError(f"--by-class and --nrow lay out a grid; --format {args.format} writes every sample")
    from ...evaluation.samples import stacked_mode_reader

    if args.domain is None and getattr(model, "domains", ()):
        raise GenlabError(f"--format {args.format} writes one domain's samples: add --domain a or --domain b")
    default = Path(args.run) / (f"samples-seed{args.seed}" + (".npz" if args.format == "npz" else ""))
    reader = stacked_mode_reader(config.data.name) if args.format == "npz" else None  # Stacked MNIST: modes read
    with shown():
        path = export_samples(
            model,
            args.output or default,
            args.n,
            args.format,
            seed=args.seed,
            batch_size=500 if args.batch_size is None else args.batch_size,
            label=args.label,
            force=args.force,
            domain=args.domain,
            reader=reader,
        )
    print(f"wrote {args.n} samples to {path}")
    if sampling is not None:
        print(evaluations_line(model, sampling))
    return 0


def guided(args: argparse.Namespace, model: Any, config: Any) -> int:
    """--guide: Plug & Play samples of class --label, and a strip of the chains (rows) over 8 recorded steps."""
    from ...metrics.extractors import load_guide

    if args.label is None or args.by_class:
        raise GenlabError("--guide needs --label (the guide's target class) and draws that class only: no --by-class")
    pnp_only(args)
    steps = PNP_STEPS if args.steps is None else args.steps
    check_grid(max(args.n, 8 * args.chain_rows), config.model.image_size, "sample --guide")
    guide = load_guide(args.guide).to(model.device)
    prior = load_run(args.prior, model.device)[0] if args.prior else None
    path = resolve_output(args, f"guided-{args.label}-seed{args.seed}.png")
    strip_path = output_path(path.with_name(f"{path.stem}-chain{path.suffix}"), args.force)
    result = plug_and_play(
        model,
        guide,
        args.label,
        args.n,
        steps,
        args.eps1,
        args.eps2,
        args.eps3,
        args.seed,
        record_every=max(steps // 8, 1),
        domain=args.domain,
        prior=prior,
        max_step=args.max_step or None,
    )
    report(save_grid(result.images, path, nrow=args.nrow, scale=2))
    if args.chain_rows > 0:
        strip = result.chain[:, : args.chain_rows].transpose(0, 1)  # rows = chains, columns = recorded steps
        report(save_grid(strip.flatten(0, 1), strip_path, nrow=len(result.steps), scale=2))
    before, after = result.log_probs[[0, -1]].exp().mean(1).tolist()
    print(f"guide p(y={args.label}) mean: {before:.3f} at step 0 -> {after:.3f} at step {steps}")
    return 0

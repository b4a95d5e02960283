"""genlab serve: a local web page over trained runs: samples, latent paths, the manifold, uploads through the
model, training curves and eval tables (docs/studio.md)."""
from __future__ import annotations

import argparse

from ...errors import GenlabError

EXAMPLES = """examples:
  genlab serve runs/vae                      # then open http://127.0.0.1:8000/
  genlab serve runs/vae runs/cgan runs/cyclegan --port 8080
  genlab serve runs/vae --device auto        # a GPU when there is one

Needs the studio extra: pip install 'genlab[studio]'. It listens on 127.0.0.1 (this machine only) unless
--host says otherwise; anyone who can reach that address can use the runs it serves.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="a local web page over trained runs", description=__doc__, epilog=EXAMPLES)
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders written by `genlab train`")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--device", default="cpu", help="cpu, auto, cuda, mps (default: cpu)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..server import create_app

    if not 0 < args.port < 65536:
        raise GenlabError(f"--port must be in 1..65535, got {args.port}")
    app = create_app(args.runs, args.device)  # the extra is there and every run loads, or one line and exit 2
    import uvicorn

    names = ", ".join(f"{run.id} ({run.name})" for run in app.state.studio.runs)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"genlab studio: http://{host}:{args.port}/ serving {names}; Ctrl-C stops it", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0

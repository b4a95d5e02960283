"""genlab serve: a local web page over trained runs: samples, latent paths, the manifold, uploads through the
model, training curves and eval tables (docs/studio.md)."""

from __future__ import annotations

import argparse

from ...errors import GenlabError
from .common import integer
from .verbs import help_of

EXAMPLES = """examples:
  genlab serve runs/vae                      # then open http://127.0.0.1:8000/
  genlab serve runs/vae runs/cgan runs/cyclegan --port 8080
  genlab serve runs/vae --device auto        # a GPU when there is one

Needs the studio extra: pip install 'genlab[studio]'. It listens on 127.0.0.1 (this machine only) unless
--host says otherwise; anyone who can reach that address can use the runs it serves.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help=help_of("serve"), description=__doc__, epilog=EXAMPLES)
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders written by `genlab train`")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=integer(1, 65535), default=8000, help="port to listen on (default 8000)")
    p.add_argument("--device", default="cpu", help="cpu, auto, cuda, mps (default: cpu)")
    p.set_defaults(func=run)


def check_port_free(host: str, port: int) -> None:
    """One clear line (exit 2) when the address is taken or cannot be listened on; uvicorn would exit 3 there,
    genlab's code for diverged training."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError as e:
            raise GenlabError(
                f"cannot listen on {host}:{port} ({e.strerror or e}); is another server running "
                "there? choose another --port"
            ) from None


def run(args: argparse.Namespace) -> int:
    from ..server import create_app

    app = create_app(args.runs, args.device)  # the extra is there and every run loads, or one line and exit 2
    check_port_free(args.host, args.port)
    import uvicorn

    names = ", ".join(f"{run.id} ({run.name})" for run in app.state.studio.runs)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"genlab studio: http://{host}:{args.port}/ serving {names}; Ctrl-C stops it", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0

"""Helpers that drive genlab's applications in tests and benchmarks (see genlab.testing for the pure ones): the
command line in-process, tiny runs trained as `genlab train` trains them (model card included) for the studio,
report and browser tests, and a real Chromium (Debian's, driven by Playwright) against a real `genlab serve` app
in a background thread."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import threading
import time
from pathlib import Path

from ..testing.runs import write_domains
from .cli import main

SHORT = ["train.epochs=2", "train.batch_size=64", "data.limit=256", "train.eval_images=128", "train.grid_size=16"]

MISSING = "no Chromium found: install Debian's chromium (apt-get install chromium) or set GENLAB_CHROMIUM"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def find_chromium() -> str | None:
    """GENLAB_CHROMIUM, else the first of chromium / chromium-browser / google-chrome on PATH."""
    explicit = os.environ.get("GENLAB_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else shutil.which(explicit)
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class BackgroundServer:
    """uvicorn serving ``app`` on 127.0.0.1 and a free port, in a daemon thread."""

    def __init__(self, app):
        import uvicorn

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the studio server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


# The SHA-256 of the bytes behind an <img>'s (blob:) src, computed in the page.
IMAGE_DIGEST = """async (selector) => {
  const img = document.querySelector(selector);
  const bytes = await (await fetch(img.src)).arrayBuffer();
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}"""

# How many pixels of a canvas differ from white.
CANVAS_INK = """(selector) => {
  const canvas = document.querySelector(selector);
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] < 250 || data[i + 1] < 250 || data[i + 2] < 250) ink++;
  return ink;
}"""


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """genlab's exit code, stdout and stderr for one command line (``capsys``: pytest's capture fixture)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def vae_run(root: Path) -> Path:
    """A VAE with a 2-D latent space (so the manifold grid applies), on MNIST."""
    return _train(root / "vae", "vae", "mnist", ["model.widths=8,16", "model.hidden=32", "model.latent_dim=2"])


def conditional_gan_run(root: Path) -> Path:
    """A class-conditional GAN on MNIST (10 classes)."""
    return _train(root / "cgan", "gan", "mnist", ["model.conditional=true"], preset="tiny")


def toy_gan_run(root: Path) -> Path:
    """A GAN on the 8-Gaussian ring (points, not images)."""
    return _train(root / "toy", "gan", "toy2d:ring8", ["train.epochs=1", "data.limit=512"], preset="toy", short=False)


def cyclegan_run(root: Path) -> Path:
    """A tiny CycleGAN between dark gray squares (A) and bright RGB circles (B)."""
    a, b = write_domains(root / "domains")
    return _train(
        root / "cyclegan",
        "cyclegan",
        f"unpaired:{a},{b}",
        [
            "model.image_size=32",
            "model.pool_size=4",
            "train.batch_size=4",
            "train.epochs=1",
            "data.test_fraction=0.15",
            "train.eval_images=8",
        ],
        preset="tiny",
        short=False,
    )


def _train(
    out: Path, model: str, data: str, settings: list[str], preset: str | None = None, short: bool = True
) -> Path:
    """``out`` trained by `genlab train` in this process, unless it holds a checkpoint already."""
    if not (out / "checkpoint").is_dir():
        argv = [
            "train",
            model,
            "--data",
            data,
            *(["--preset", preset] if preset else []),
            *[a for s in (SHORT if short else []) + settings for a in ("--set", s)],
            "--out",
            str(out),
        ]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
            code = main(argv)
        if code:
            raise RuntimeError(f"genlab {' '.join(argv)} exited {code}: {err.getvalue()}")
    return out

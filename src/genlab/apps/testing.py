"""Helpers that drive genlab's applications in tests and benchmarks (see genlab.testing for the pure ones): the
command line in-process, tiny runs trained as `genlab train` trains them (model card included) for the studio,
report and browser tests, and a real Chromium (Debian's, driven by Playwright) against a real `genlab serve` app
in a background thread."""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


TIMEOUT_MS = 20_000  # what one step of a browser test may wait for


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


def diffusion_run(root: Path, conditional: bool = True) -> Path:
    """A small diffusion run on 128 MNIST digits at 16 pixels (3 Heun steps by default), class-conditional unless
    told otherwise. Its U-Net is 34 channels wide: at 32 or fewer each GroupNorm group holds one channel, which
    erases the class embedding added before it, and guidance would change nothing; small batches and a large
    learning rate, so that its handful of steps already gives the labels some say."""
    settings = ["train.epochs=1", "train.eval_images=0", "train.batch_size=16", "train.lr=1e-2", "data.limit=128"]
    settings += ["model.image_size=16", "model.widths=34,34", f"model.conditional={str(conditional).lower()}"]
    return _train(root / ("cdiffusion" if conditional else "diffusion"), "diffusion", "mnist", settings, preset="tiny")


def hvae_run(root: Path) -> Path:
    """A tiny hierarchical VAE on binarized MNIST (two latent groups, 7 and 14 pixels)."""
    return _train(root / "hvae", "hvae", "mnist", ["train.epochs=1"], preset="tiny")


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


_PRISTINE: dict[tuple[str, ...], Path] = {}  # the command line of a run trained in this process -> an untouched copy


def _train(
    out: Path, model: str, data: str, settings: list[str], preset: str | None = None, short: bool = True
) -> Path:
    """``out`` trained by `genlab train` in this process, unless it holds a checkpoint already; a run of the same
    command line trained earlier in this process is copied from its untouched copy instead of trained again (the
    tests of the studio, reports and cards each get their own folder of the same tiny runs)."""
    if (out / "checkpoint").is_dir():
        return out
    argv = ["train", model, "--data", data, *(["--preset", preset] if preset else [])]
    argv += [a for s in (SHORT if short else []) + settings for a in ("--set", s)]
    key = tuple(argv)
    if key in _PRISTINE:
        shutil.copytree(_PRISTINE[key], out)
        return out
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = main([*argv, "--out", str(out)])
    if code:
        raise RuntimeError(f"genlab {' '.join(argv)} exited {code}: {err.getvalue()}")
    folder = tempfile.mkdtemp(prefix="genlab-run-")
    atexit.register(shutil.rmtree, folder, True)
    _PRISTINE[key] = Path(folder) / out.name
    shutil.copytree(out, _PRISTINE[key])
    return out


# -- the studio in a real browser: the server over six tiny runs, one Chromium page, and what tests ask of it --


def studio_runs(root: Path) -> list[Path]:
    """The browser tests' runs under ``root`` (trained once per root): a VAE, a conditional GAN, a CycleGAN, a
    toy run, a conditional diffusion run and a hierarchical VAE; the VAE scored (rows for the eval table) plus one
    entry scored on other weights (stale)."""
    runs = [vae_run(root), conditional_gan_run(root), cyclegan_run(root), toy_gan_run(root), diffusion_run(root)]
    runs.append(hvae_run(root))
    scores = runs[0] / "eval.json"
    if not scores.is_file():
        with contextlib.redirect_stdout(io.StringIO()):
            if main(["eval", str(runs[0]), "--metrics", "elbo", "--images", "64", "--device", "cpu"]):
                raise RuntimeError(f"genlab eval {runs[0]} failed")
        entries = json.loads(scores.read_text())
        entries["nll"] = {"provenance": {**entries["elbo"]["provenance"], "weights_sha256": "0" * 64}}
        scores.write_text(json.dumps(entries))
    return runs


@contextlib.contextmanager
def studio_server(root: Path) -> Iterator[BackgroundServer]:
    """The real studio app over ``studio_runs(root)`` on 127.0.0.1; its ``runs``: /api/runs by name."""
    from .server import create_app

    with BackgroundServer(create_app(studio_runs(root), device="cpu")) as server:
        with urllib.request.urlopen(server.origin + "/api/runs") as answer:
            server.runs = {r["name"]: r for r in json.load(answer)}
        yield server


@contextlib.contextmanager
def studio_page(origin: str, chromium: str, profile: Path) -> Iterator[tuple[Any, dict[str, list[str]]]]:
    """One headless Chromium page (a fresh profile in ``profile``) on the studio at ``origin``, and its log:
    requests outside the origin blocked and recorded ("blocked"), console and page errors ("errors")."""
    from playwright.sync_api import sync_playwright

    log: dict[str, list[str]] = {"blocked": [], "errors": []}

    def route(r):
        url = r.request.url
        if url.startswith(origin + "/") or url.startswith(("blob:", "data:")):
            r.continue_()
        else:
            log["blocked"].append(url)
            r.abort()

    def console(message):
        if message.type == "error":
            log["errors"].append(f"console: {message.text} ({message.location.get('url', '')})")

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(profile),
            executable_path=chromium,
            args=ARGS,
            headless=True,
            viewport={"width": 1200, "height": 900},
        )
        try:
            context.set_default_timeout(TIMEOUT_MS)
            context.route("**/*", route)
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", console)
            page.on("pageerror", lambda error: log["errors"].append(f"page error: {error}"))
            page.goto(origin + "/")
            page.wait_for_selector("#run-select option", state="attached")
            yield page, log
        finally:
            context.close()


def assert_quiet(log: dict[str, list[str]]) -> None:
    """Since the last check, nothing was fetched from elsewhere and no error was logged (the log is emptied)."""
    blocked, errors = list(log["blocked"]), list(log["errors"])
    log["blocked"].clear()
    log["errors"].clear()
    assert not blocked, f"the page tried to fetch from another origin: {blocked}"
    assert not errors, f"errors in the browser console: {errors}"


def expect_refusals(log: dict[str, list[str]], path: str, count: int = 1) -> None:
    """Take out of the log the ``count`` console errors Chromium logs itself for 4xx answers to ``path``."""
    expected = [e for e in log["errors"] if path in e and "status of 4" in e]
    assert len(expected) == count, log["errors"]
    for entry in expected:
        log["errors"].remove(entry)


def select_run(page, studio: BackgroundServer, name: str) -> None:
    """Pick a run in the page (picking it again reloads it) and wait until its description and details show."""
    page.select_option("#run-select", str(list(studio.runs).index(name)))
    page.wait_for_function(
        "(text) => document.querySelector('#run-info').textContent.includes(text)", arg=studio.runs[name]["model"]
    )
    page.wait_for_function(
        "() => document.querySelector('#config').textContent.length > 0"
        " && !document.querySelector('#details-section').hasAttribute('aria-busy')"
    )


def wait_image(page, selector: str, previous: str | None = None) -> str:
    """Wait until the <img> shows a fetched (blob:) image other than ``previous``; its src."""
    page.wait_for_function(
        """([selector, previous]) => {
             const img = document.querySelector(selector);
             return img.src.startsWith("blob:") && img.src !== previous && !img.hasAttribute("aria-busy")
               && img.complete && img.naturalWidth > 0;
           }""",
        arg=[selector, previous],
    )
    return page.get_attribute(selector, "src")


def digest(page, selector: str) -> str:
    """The SHA-256 of the image an <img> shows."""
    return page.evaluate(IMAGE_DIGEST, selector)


def url_digest(page, url: str) -> str:
    """The SHA-256 of what the server answers ``url`` (relative to the page) with, fetched by the page."""
    return page.evaluate(
        """async (url) => {
        const d = await crypto.subtle.digest("SHA-256", await (await fetch(url)).arrayBuffer());
        return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join(""); }""",
        url,
    )


def write_png(path: Path, size: int, mode: str = "L") -> Path:
    """A dark image with a bright ellipse, as a PNG file."""
    from PIL import Image, ImageDraw

    img = Image.new(mode, (size, size), 10 if mode == "L" else (30, 30, 30))
    ImageDraw.Draw(img).ellipse([size // 4, size // 5, 3 * size // 4, 4 * size // 5], outline="white", width=3)
    img.save(path)
    return path


def server_error(request: urllib.request.Request | str) -> tuple[int, str]:
    """The status and one-line ``detail`` the studio answers a request it refuses with."""
    try:
        urllib.request.urlopen(request).close()
    except urllib.error.HTTPError as answer:
        return answer.code, json.load(answer)["detail"]
    raise AssertionError(f"the studio accepted {getattr(request, 'full_url', request)}")

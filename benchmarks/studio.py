"""The studio's latency and the README's screenshots: trains small runs, starts `genlab serve` as a user
would, times its answers over HTTP with the server warm, and captures the page and a report in Debian's
Chromium (Playwright).

    python benchmarks/studio.py        # about 8 minutes on two CPU cores; trained runs are reused
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

from common import RESULTS, save
from genlab.apps.testing import ARGS
from genlab.testing.runs import write_domains

ROOT = Path(__file__).resolve().parent.parent
RUNS = RESULTS / "studio_runs"
DOCS = ROOT / "docs"
TRAIN = {  # name: (model, data, settings)
    "vae": ("vae", "mnist", ["--preset", "quick", "--set", "model.latent_dim=2", "--set", "train.epochs=3"]),
    "cgan": ("gan", "mnist", ["--preset", "quick", "--set", "model.conditional=true", "--set", "data.limit=30000"]),
}
CYCLEGAN = [
    "--preset",
    "tiny",
    "--set",
    "model.image_size=32",
    "--set",
    "model.g_width=16",
    "--set",
    "model.g_blocks=2",
    "--set",
    "model.d_width=16",
    "--set",
    "train.batch_size=8",
    "--set",
    "train.epochs=40",
    "--set",
    "data.test_fraction=0.1",
    "--set",
    "train.eval_images=8",
]


def genlab(*args: str, cwd: Path | None = None) -> None:
    """Run the genlab command as a user would (from ``cwd``)."""
    subprocess.run([sys.executable, "-m", "genlab", *args], check=True, cwd=cwd)


def train_runs() -> list[Path]:
    """The runs the studio serves: a 2-D latent VAE, a conditional GAN, a small CycleGAN (squares to circles)."""
    a, b = write_domains(RUNS / "domains", n=64)
    TRAIN["cyclegan"] = ("cyclegan", f"unpaired:{a},{b}", CYCLEGAN)
    for name, (model, data, settings) in TRAIN.items():
        if not (RUNS / name / "checkpoint").is_dir():
            genlab("train", model, "--data", data, *settings, "--out", str(RUNS / name), "--force")
    if not (RUNS / "vae" / "eval.json").is_file():
        genlab("eval", str(RUNS / "vae"), "--metrics", "elbo,nll", "-k", "100", "--images", "1000")
    return [RUNS / name for name in TRAIN]


class Studio:
    """`genlab serve` in a subprocess, until the block ends."""

    def __init__(self, runs: list[Path], port: int = 8765):
        self.url, self.command = (
            f"http://127.0.0.1:{port}",
            [sys.executable, "-m", "genlab", "serve", *map(str, runs), "--port", str(port)],
        )

    def __enter__(self) -> Studio:
        self.process = subprocess.Popen(self.command)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/api/runs").raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("genlab serve did not answer within 2 minutes")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def timed(client: httpx.Client, requests: list, warmup: int = 3) -> dict:
    """Median and 90th percentile (ms) of requests [(method, path, kwargs)], after a warm-up."""
    seconds = []
    for i, (method, path, kwargs) in enumerate(requests):
        started = time.perf_counter()
        answer = client.request(method, path, **kwargs)
        elapsed = time.perf_counter() - started
        answer.raise_for_status()
        if i >= warmup:
            seconds.append(elapsed)
    seconds.sort()
    return {
        "requests": len(seconds),
        "median_ms": round(1000 * statistics.median(seconds), 1),
        "p90_ms": round(1000 * seconds[int(0.9 * (len(seconds) - 1))], 1),
    }


def png_upload(size: int = 28, mode: str = "L") -> dict:
    """A multipart upload of one PNG image."""
    buffer = io.BytesIO()
    Image.effect_noise((size, size), 60).convert(mode).save(buffer, "PNG")
    return {"files": {"file": ("digit.png", buffer.getvalue(), "image/png")}}


def latencies(url: str, count: int) -> dict:
    """The three answers the issue names, and the conditional GAN's grid, each ``count`` times."""
    with httpx.Client(base_url=url, timeout=60) as client:
        return {
            "new_samples_64_vae": timed(
                client,
                [("GET", "/api/runs/vae/samples.png", {"params": {"n": 64, "seed": s}}) for s in range(count + 3)],
            ),
            "new_samples_64_cgan": timed(
                client,
                [
                    ("GET", "/api/runs/cgan/samples.png", {"params": {"n": 64, "seed": s, "label": s % 10}})
                    for s in range(count + 3)
                ],
            ),
            "interpolation_frame_vae": timed(
                client,
                [
                    ("GET", "/api/runs/vae/interpolate.png", {"params": {"a": 0, "b": 1, "t": i / (count + 2)}})
                    for i in range(count + 3)
                ],
            ),
            "upload_reconstruct_vae": timed(
                client,
                [
                    ("POST", "/api/runs/vae/upload.png", {"params": {"action": "reconstruct"}, **png_upload()})
                    for _ in range(count + 3)
                ],
            ),
            "upload_a2b_cyclegan": timed(
                client,
                [
                    ("POST", "/api/runs/cyclegan/upload.png", {"params": {"action": "a2b"}, **png_upload(40)})
                    for _ in range(count + 3)
                ],
            ),
        }


def screenshots(url: str, report: Path) -> list[Path]:
    """docs/studio.png (the VAE, after a few clicks) and docs/report.png (the top of its report)."""
    from playwright.sync_api import sync_playwright

    shots = [DOCS / "studio.png", DOCS / "studio-cyclegan.png", DOCS / "report.png"]
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=chromium(), headless=True, args=ARGS, viewport={"width": 1280, "height": 900}
        )
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("#samples-img[src^='blob:']")
        page.fill("#interp-t", "0.5") if page.locator("#interp-t").count() else None
        page.wait_for_timeout(1500)
        page.screenshot(path=shots[0], full_page=True)
        page.select_option(
            "#run-select",
            label=next(o for o in page.locator("#run-select option").all_inner_texts() if "cyclegan" in o),
        )
        page.set_input_files("#upload-input", str(RUNS / "domains" / "A" / "a3.png"))
        page.wait_for_selector("#upload-img[src^='blob:']")
        page.wait_for_timeout(1000)
        page.screenshot(path=shots[1], full_page=False)
        page.goto(report.as_uri())
        page.wait_for_timeout(500)
        page.screenshot(path=shots[2], full_page=False)
        context.close()
    return shots


def chromium() -> str:
    """Debian's chromium (or GENLAB_CHROMIUM)."""
    import shutil

    found = os.environ.get("GENLAB_CHROMIUM") or shutil.which("chromium")
    if not found:
        raise SystemExit("no Chromium found: apt-get install chromium, or set GENLAB_CHROMIUM")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    runs = train_runs()
    report = RUNS / "vae" / "report.html"
    genlab("report", "vae", "-o", "vae/report.html", cwd=RUNS)  # the page names the folder as a user gave it
    with Studio(runs) as studio:
        result = latencies(studio.url, args.requests)
        shots = screenshots(studio.url, report)
    save(
        "studio",
        {
            "latency": result,
            "screenshots": [str(s.relative_to(ROOT)) for s in shots],
            "report_kb": round(report.stat().st_size / 1024, 1),
        },
    )


if __name__ == "__main__":
    main()

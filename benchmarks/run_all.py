"""`make bench`: every benchmark behind docs/results/, CPU-sized unless a GPU is present."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def run(script: str, *args: str) -> None:
    print(f"== {script} {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, str(HERE / script), *args], check=True)


def genlab(*args: str) -> None:
    """One `genlab` command in this interpreter."""
    print(f"== genlab {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "genlab", *args], check=True)


if __name__ == "__main__":
    run("speed.py")  # issue 12: the trainer against a bare loop, side by side (a few minutes)
    run("ddp_cpu.py")  # issue 12: 2 processes x 1 thread against 1 process x 2 threads
    if torch.cuda.is_available():
        subprocess.run(["bash", str(HERE / "gpu_suite.sh")], check=True)  # every GPU figure, about 6 minutes
    run("studio.py")  # issue 14: the studio's answer times and the README screenshots (needs Debian's chromium)
    run("onnx_export.py")  # issue 15: exported graphs against PyTorch, onnxruntime throughput
    run("digit_classifier.py", "--robustness")  # issue 16: v1 / v2 / check networks on degraded test digits
    run("extractor_agreement.py")  # issue 16: Spearman rank agreement of digits-v2 and digits-check
    run("modes.py", "--seeds", "3")
    run("demo_time.py")
    run("parzen_probe.py")  # what the Parzen window rewards (real images, blurred, binarized, ...)
    run("zoo.py")  # Parzen + FID/KID/PR/DC/IS table (about 25 min on two CPU cores)
    run(
        "zoo.py", "--models", "autoencoder,latent-gan", "--epochs", "6", "--out", str(HERE / "results" / "zoo_latent")
    )  # issue 3's Parzen target: the two-stage GAN (about 15 min)
    run("plug_and_play.py")  # issue 17: the zoo's VAE, GAN and latent GAN guided, judged by an independent network
    genlab(
        "train",
        "code-dae",
        "--set",
        f"model.source={HERE / 'results' / 'zoo' / 'vae'}",
        "--out",
        str(HERE / "results" / "zoo" / "vae-dae"),
        "--force",
    )  # PPGN-h's code prior
    run("plug_and_play.py", "--runs", "zoo/vae", "--prior", "zoo/vae-dae", "--name", "plug_and_play_ppgn_h")
    run("metric_sanity.py", "--run", str(HERE / "results" / "zoo" / "vae"))
    run("adaptation.py", "--limit", "20000")  # issue 5: MNIST -> mnistm and synthdigits -> MNIST (about 1 h)
    if torch.cuda.is_available():
        run("vae_nll.py")  # full protocol: k=5000 on all 10,000 test images
    else:
        run("vae_nll.py", "-k", "1000", "--images", "1000")
    quick, conditional = (str(HERE / "results" / name) for name in ("diffusion_quick", "diffusion_cfg"))
    genlab("train", "diffusion", "--preset", "quick", "--out", quick, "--force")  # about 12 min each on a core
    genlab(
        "train", "diffusion", "--preset", "quick", "--set", "model.conditional=true", "--out", conditional, "--force"
    )
    run("diffusion_nfe.py", "--run", quick, "--samples", "1000")  # FID against network evaluations per sampler
    run("diffusion_guidance.py", "--run", conditional, "--guided-run", quick)  # read by digits-check (about 20 min)

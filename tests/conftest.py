"""Fixtures shared by the tests; the helpers they build on live in genlab.testing and genlab.apps.testing.

Test files mirror src: tests/test_<part>.py tests genlab.<part> (a module or package), and
tests/test_<part>_<module>.py one module of a package (test_models_gan.py: genlab.models.gan). Tests marked
``slow`` (subprocesses that train, torchrun, a real browser, API fuzzing, fault injection, long trainings) run in
`make test-all` only; `make test` runs the rest."""

from __future__ import annotations

import os

import pytest
import torch
from hypothesis import settings

import genlab
from genlab.testing import TINY

# CI replays the same examples on every run (no flaky red); locally each run explores new ones
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A VAE trained for one short epoch on 256 MNIST images."""
    out = tmp_path_factory.mktemp("runs") / "vae"
    genlab.train("vae", overrides=TINY, out=out, echo=lambda s: None)
    return out


@pytest.fixture(scope="module")
def one_thread():
    """Tiny convolutions run fastest on one thread, and much faster on a machine whose cores are busy
    (use with ``pytestmark = pytest.mark.usefixtures("one_thread")``)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

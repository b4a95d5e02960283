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


# -- the studio in a real browser (tests/test_apps_server_browser*.py): one server a session, one page a module


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium; CI installs it, so there a missing one fails (elsewhere the browser tests skip)."""
    from genlab.apps.testing import MISSING, find_chromium

    found = find_chromium()
    if found is None:
        pytest.fail(MISSING, pytrace=False)
    return found


@pytest.fixture(scope="session")
def studio(tmp_path_factory):
    """The real studio app over six tiny runs (genlab.apps.testing's studio_runs), served on 127.0.0.1 from a
    background thread."""
    from genlab.apps.testing import studio_server

    with studio_server(tmp_path_factory.mktemp("studio-runs")) as server:
        yield server


@pytest.fixture(scope="module")
def browser_page(studio, chromium, tmp_path_factory):
    """One headless Chromium page (fresh profile) on the studio, and its log: requests outside the server's
    origin blocked and recorded, console and page errors collected. One a module: Playwright's sync API holds an
    event loop open on the main thread, where other modules' tests call asyncio.run."""
    from genlab.apps.testing import studio_page

    with studio_page(studio.origin, chromium, tmp_path_factory.mktemp("chromium-profile")) as (page, log):
        yield page, log


@pytest.fixture
def page(browser_page):
    """The shared page; after each test: nothing was fetched from elsewhere and no error was logged."""
    from genlab.apps.testing import assert_quiet

    page, log = browser_page
    yield page
    assert_quiet(log)

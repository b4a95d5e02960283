"""A diffusion run in the studio's page, in Chromium: its denoising trajectory captioned with the noise levels,
the sampler and steps it draws with and what that costs, the guidance slider of a class-conditional run; and
none of it for runs that draw in one pass; a hierarchical VAE's temperature slider. The session's server and a
page of tests/conftest.py, as in test_apps_server_browser.py."""

from __future__ import annotations

import os

import pytest

from genlab.apps.testing import MISSING, digest, find_chromium, select_run, url_digest, wait_image

pytestmark = pytest.mark.slow  # a real browser
if find_chromium() is None and os.environ.get("CI") != "true":  # CI installs it: there the fixture fails instead
    pytest.skip(MISSING, allow_module_level=True)

pytest.importorskip("playwright.sync_api")

CONTROLS = ["trajectory-section", "sampling-controls", "guidance-controls"]


def texts(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "es => es.map(e => e.textContent)")


def last_request(page, path: str) -> dict[str, str]:
    """The query of the page's latest request for ``path``."""
    url = page.evaluate(
        "(path) => performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes(path)).pop()",
        path,
    )
    return dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))


@pytest.fixture
def diffusion(page, studio):
    """The conditional diffusion run's page, 8 samples a grid (each draw solves the whole path)."""
    page.fill("#n", "8")
    select_run(page, studio, "cdiffusion")
    wait_image(page, "#samples-img")
    wait_image(page, "#trajectory-img")
    yield page
    page.fill("#n", "64")


def test_the_trajectory_strip_shows_the_path_of_the_sampler_asked_for(diffusion, studio):
    page, sampling = diffusion, studio.runs["cdiffusion"]["sampling"]
    assert all(page.is_visible(f"#{i}") for i in CONTROLS)
    assert texts(page, "#sampler option") == sampling["samplers"] and page.input_value("#sampler") == "heun"
    levels = texts(page, "#trajectory-levels span")  # 3 Heun steps: 3 noise levels, then the samples
    assert len(levels) == 4 and levels[0] == "σ 80" and levels[-1] == "sample"
    size = studio.runs["cdiffusion"]["image_size"]
    assert page.eval_on_selector("#trajectory-img", "i => i.naturalWidth") == 4 * (size + 2) + 2
    assert page.text_content("#samples-line") == "sampler heun, 3 steps: 5 network evaluations per sample"
    before = page.get_attribute("#trajectory-img", "src")
    page.fill("#sampling-steps", "8")
    page.select_option("#sampler", "euler")  # its change event redraws both, with the steps typed
    page.wait_for_function("() => document.querySelectorAll('#trajectory-levels span').length === 8")
    wait_image(page, "#trajectory-img", before)
    assert page.eval_on_selector("#trajectory-img", "i => i.naturalWidth") == 8 * (size + 2) + 2
    page.wait_for_function("() => document.querySelector('#samples-line').textContent.includes('euler')")
    assert page.text_content("#trajectory-line") == "sampler euler, 8 steps: 8 network evaluations per sample"
    assert page.text_content("#samples-line") == page.text_content("#trajectory-line")
    for path in ("samples.png", "trajectory.png"):
        assert {"sampler": "euler", "steps": "8", "guidance": "0"}.items() <= last_request(page, path).items()


def test_the_guidance_slider_redraws_the_samples_and_the_trajectory(diffusion, studio):
    page, run = diffusion, studio.runs["cdiffusion"]["id"]
    shown = {i: (page.get_attribute(i, "src"), digest(page, i)) for i in ("#samples-img", "#trajectory-img")}
    page.focus("#guidance")
    for _ in range(4):
        page.keyboard.press("ArrowRight")  # 0.5 a step; each an `input` event
    for selector, (src, _) in shown.items():
        wait_image(page, selector, src)
    assert page.input_value("#guidance") == "2" and page.text_content("#guidance-value") == "2.0"
    for selector, path in (("#samples-img", "samples.png"), ("#trajectory-img", "trajectory.png")):
        assert last_request(page, path)["guidance"] == "2"
        assert digest(page, selector) != shown[selector][1]
    query = "&".join(f"{k}={v}" for k, v in last_request(page, "samples.png").items())
    assert digest(page, "#samples-img") == url_digest(page, f"api/runs/{run}/samples.png?{query}")  # the latest answer
    assert "doubled batch" in page.text_content("#samples-line")


def test_runs_that_draw_in_one_pass_show_neither_control(page, studio):
    for name in ("vae", "cgan"):
        select_run(page, studio, name)
        wait_image(page, "#samples-img")
        assert not any(page.is_visible(f"#{i}") for i in CONTROLS + ["samples-line"])
        assert not {"sampler", "steps", "guidance"} & set(last_request(page, "samples.png"))
    assert page.is_visible("#class-section")  # the conditional GAN's class picker, without a guidance slider


def test_a_hierarchical_vae_has_a_temperature_slider_that_redraws_its_samples(page, studio):
    select_run(page, studio, "hvae")
    wait_image(page, "#samples-img")
    assert page.is_visible("#temperature-controls") and page.text_content("#temperature-value") == "1.0"
    assert not any(page.is_visible(f"#{i}") for i in CONTROLS)  # no sampler, steps or trajectory
    src, before = page.get_attribute("#samples-img", "src"), digest(page, "#samples-img")
    page.focus("#temperature")
    for _ in range(3):
        page.keyboard.press("ArrowLeft")  # 0.1 a step: input events, then the change that redraws
    page.dispatch_event("#temperature", "change")
    wait_image(page, "#samples-img", src)
    assert (
        page.text_content("#temperature-value") == "0.7" and last_request(page, "samples.png")["temperature"] == "0.7"
    )
    assert digest(page, "#samples-img") != before
    select_run(page, studio, "cdiffusion")
    assert not page.is_visible("#temperature-controls")

"""The studio's page in Chromium: what it tells the user about the values typed into it and the pictures it shows
-- a typed seed kept, a clamped or refused value said, an old error gone after a success, an upload's row
captioned (directions named by their domains), the interpolation's endpoints marked. The session's server and a
page of tests/conftest.py, as in test_apps_server_browser.py."""

from __future__ import annotations

import os
import re

import pytest

from genlab.apps.server.limits import MAX_SAMPLES, MAX_STEPS
from genlab.apps.testing import (
    MISSING,
    digest,
    expect_refusals,
    find_chromium,
    select_run,
    server_error,
    url_digest,
    wait_image,
    write_png,
)
from genlab.data import short_names

pytestmark = pytest.mark.slow  # a real browser
if find_chromium() is None and os.environ.get("CI") != "true":  # CI installs it: there the fixture fails instead
    pytest.skip(MISSING, allow_module_level=True)

pytest.importorskip("playwright.sync_api")


@pytest.fixture
def vae(page, studio):
    """The VAE's page with its samples shown; afterwards every number field as the page first had it (the seed
    the page's own), no error banner."""
    select_run(page, studio, "vae")
    wait_image(page, "#samples-img")
    yield page
    page.evaluate("""() => {
      for (const input of document.querySelectorAll("input[type=number]")) input.value = input.defaultValue;
      document.querySelector("#seed").dataset.drawn = "true";
      clearError(); }""")


def samples_url(page, studio, seed: str) -> str:
    """The VAE's samples.png of this seed at the n the page shows."""
    return f"api/runs/{studio.runs['vae']['id']}/samples.png?n={page.input_value('#n')}&seed={seed}"


def enter(page, selector: str, value: str) -> None:
    """Type a value into a field and commit it (Enter: its change event)."""
    page.fill(selector, value)
    page.press(selector, "Enter")


def test_a_typed_seed_is_kept_and_only_an_empty_field_draws_one(vae, studio):
    page, shown = vae, []
    src = page.get_attribute("#samples-img", "src")
    page.fill("#seed", "1234")
    for _ in range(2):
        page.click("#new-samples")
        src = wait_image(page, "#samples-img", src)
        shown.append(digest(page, "#samples-img"))
        assert page.input_value("#seed") == "1234"
    assert shown[0] == shown[1] == url_digest(page, samples_url(page, studio, "1234"))  # same seed, same images
    page.fill("#seed", "")
    page.click("#new-samples")
    src = wait_image(page, "#samples-img", src)
    drawn = page.input_value("#seed")  # an empty field draws a seed, and shows the one used
    assert drawn.isdigit() and digest(page, "#samples-img") == url_digest(page, samples_url(page, studio, drawn))
    page.click("#new-samples")  # the page's own seed is no typed one: another draw
    wait_image(page, "#samples-img", src)
    assert page.input_value("#seed") != drawn


def test_values_the_page_clamps_or_the_server_refuses_are_said(vae, studio, browser_page):
    page = vae
    src = page.get_attribute("#samples-img", "src")
    enter(page, "#n", str(40 * MAX_SAMPLES))
    wait_image(page, "#samples-img", src)
    assert page.is_visible("#samples-note") and f"n clamped to {MAX_SAMPLES}" in page.text_content("#samples-note")
    assert digest(page, "#samples-img") == url_digest(page, samples_url(page, studio, page.input_value("#seed")))
    src = wait_image(page, "#manifold-img")
    enter(page, "#manifold-steps", str(MAX_STEPS + 9))
    wait_image(page, "#manifold-img", src)
    assert f"steps clamped to {MAX_STEPS}" in page.text_content("#manifold-note")
    status, refusal = server_error(f"{studio.origin}/{samples_url(page, studio, '-5')}")
    assert 400 <= status < 500 and "seed" in refusal and "-5" in refusal  # the server's own line...
    enter(page, "#seed", "-5")
    page.wait_for_function(  # ...in the banner
        "(text) => !document.querySelector('#error').hidden && document.querySelector('#error-text').textContent"
        " === text",
        arg=refusal,
    )
    expect_refusals(browser_page[1], "samples.png")


def test_a_later_success_clears_the_error_banner(vae, studio, browser_page, tmp_path):
    page, log = vae, browser_page[1]
    bad = tmp_path / "noise.png"
    bad.write_bytes(os.urandom(2048))
    page.set_input_files("#upload-input", str(bad))
    page.wait_for_selector("#error", state="visible")
    expect_refusals(log, "upload.png")
    src = wait_image(page, "#interp-img")
    page.fill("#interp-t", "0.25" if page.input_value("#interp-t") != "0.25" else "0.75")  # another picture...
    wait_image(page, "#interp-img", src)
    assert page.is_hidden("#error")  # ...shown: the old error is gone
    enter(page, "#seed", "-6")
    page.wait_for_selector("#error", state="visible")
    expect_refusals(log, "samples.png")
    src = page.get_attribute("#samples-img", "src")
    enter(page, "#seed", "6")  # the seed put right
    wait_image(page, "#samples-img", src)
    assert page.is_hidden("#error")


def captions_under_cells(page, image_size: int) -> list[str]:
    """The captions of the upload's row, checked to sit under it, one centred under each of its images."""
    row = page.evaluate("""() => {
      const img = document.querySelector("#upload-img"), box = img.getBoundingClientRect();
      const spans = [...document.querySelectorAll("#upload-captions span")].filter((s) => s.offsetParent);
      return {left: box.left, width: box.width, bottom: box.bottom, natural: img.naturalWidth,
              captions: spans.map((s) => [s.textContent, s.getBoundingClientRect().toJSON()])}; }""")
    cells = row["natural"] // image_size
    assert len(row["captions"]) == cells, row
    for i, (_, box) in enumerate(row["captions"]):
        centre = (box["left"] + box["right"]) / 2 - row["left"]
        assert i * row["width"] / cells < centre < (i + 1) * row["width"] / cells and box["top"] >= row["bottom"] - 1
    return [text for text, _ in row["captions"]]


def test_upload_rows_are_captioned_and_directions_named_by_their_domains(page, studio, tmp_path):
    select_run(page, studio, "vae")
    src = page.get_attribute("#upload-img", "src")
    page.set_input_files("#upload-input", str(write_png(tmp_path / "digit.png", 56)))
    src = wait_image(page, "#upload-img", src)
    assert captions_under_cells(page, studio.runs["vae"]["image_size"]) == ["input", "reconstructed"]
    select_run(page, studio, "cyclegan")
    run = studio.runs["cyclegan"]
    a, b = short_names(run["data"])  # the domains as the run's data names them
    options = page.eval_on_selector_all("#upload-action option", "os => os.map(o => [o.value, o.textContent])")
    assert options == [["a2b", f"{a} → {b}"], ["b2a", f"{b} → {a}"]]
    page.select_option("#upload-action", "b2a")
    page.set_input_files("#upload-input", str(write_png(tmp_path / "circle.png", 48, "RGB")))
    wait_image(page, "#upload-img", src)
    given, translated, back = captions_under_cells(page, run["image_size"])
    assert given.startswith("input") and f"({b})" in given and translated.startswith("translated")
    assert f"({a})" in translated and back.startswith("back") and "reconstructed" in back and b in back


def test_the_interpolation_strip_marks_its_endpoints(vae, studio):
    page = vae
    shown = {end: wait_image(page, f"#interp-{end}") for end in ("start", "img", "end")}
    a, b, method = (page.input_value(f"#interp-{key}") for key in ("a", "b", "method"))
    path = f"api/runs/{studio.runs['vae']['id']}/interpolate.png?a={a}&b={b}&method={method}"
    assert digest(page, "#interp-start") == url_digest(page, path + "&t=0")
    assert digest(page, "#interp-end") == url_digest(page, path + "&t=1")
    start, end = page.text_content("#interp-start-caption"), page.text_content("#interp-end-caption")
    assert "start" in start and a in re.findall(r"\d+", start) and "end" in end and b in re.findall(r"\d+", end)
    boxes = {
        key: page.eval_on_selector(f"#interp-{key}", "e => e.getBoundingClientRect().toJSON()")
        for key in ("start", "start-caption", "img", "end", "end-caption")
    }
    assert boxes["start"]["right"] <= boxes["img"]["left"] and boxes["img"]["right"] <= boxes["end"]["left"]
    assert boxes["start-caption"]["top"] >= boxes["start"]["bottom"] - 1
    assert boxes["end-caption"]["top"] >= boxes["end"]["bottom"] - 1
    before = digest(page, "#interp-end")
    enter(page, "#interp-a", str(int(a) + 5))  # a new start: its image and caption follow, the end stays
    wait_image(page, "#interp-start", shown["start"])
    page.wait_for_function("() => !document.querySelector('#interp-end').hasAttribute('aria-busy')")
    assert str(int(a) + 5) in re.findall(r"\d+", page.text_content("#interp-start-caption"))
    assert digest(page, "#interp-end") == before

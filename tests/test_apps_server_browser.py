"""The studio's page in a real browser (Debian's Chromium through Playwright) against the real server: run
switching, samples, interpolation, class picking, uploads and their errors, loss curves, eval and config; no
request leaves the server's origin and no console error shows. One server for the session and one page for the
module (tests/conftest.py), as in test_apps_server_browser_feedback.py."""

from __future__ import annotations

import os
import urllib.request
import uuid

import pytest

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

pytestmark = pytest.mark.slow  # a real browser
CHROMIUM = find_chromium()
if CHROMIUM is None and os.environ.get("CI") != "true":  # CI installs it: there the fixture fails instead
    pytest.skip(MISSING, allow_module_level=True)

pytest.importorskip("playwright.sync_api")


def curve_keys(page) -> list[str]:
    return page.eval_on_selector_all("#curve-key option", "os => os.map(o => o.value)")


def chart_text(page) -> str:
    """The SVG behind the training chart's <img>, as text."""
    return page.evaluate("async () => (await fetch(document.querySelector('#curve-img').src)).text()")


def chart_ink(page) -> float:
    """The share of the chart's pixels, as the browser renders them, that are dark (lines and text)."""
    return page.evaluate("""() => {
      const img = document.querySelector("#curve-img");
      const canvas = document.createElement("canvas");
      Object.assign(canvas, {width: img.naturalWidth, height: img.naturalHeight});
      const context = canvas.getContext("2d");
      context.drawImage(img, 0, 0);
      const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
      let dark = 0;
      for (let i = 0; i < data.length; i += 4) if (Math.min(data[i], data[i + 1], data[i + 2]) < 200) dark++;
      return dark / (canvas.width * canvas.height);
    }""")


def visible_ids(page, ids) -> dict:
    return {i: page.is_visible(f"#{i}") for i in ids}


def upload_error(studio, run: str, action: str, path) -> str:
    """The one-line ``detail`` the server itself answers an upload with."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{studio.origin}/api/runs/{run}/upload.png?action={action}",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    status, detail = server_error(request)
    assert 400 <= status < 500
    return detail


def test_vae_page_shows_what_the_model_can_do(page, studio):
    select_run(page, studio, "vae")
    wait_image(page, "#samples-img")
    wait_image(page, "#interp-img")
    wait_image(page, "#manifold-img")
    wait_image(page, "#traverse-img")
    assert visible_ids(
        page,
        [
            "samples-section",
            "interp-section",
            "traverse-section",
            "manifold-section",
            "upload-section",
            "class-section",
        ],
    ) == {
        "samples-section": True,
        "interp-section": True,
        "traverse-section": True,
        "manifold-section": True,
        "upload-section": True,
        "class-section": False,
    }
    assert page.locator("#traverse-sliders input[type=range]").count() == 2  # latent_dim == 2
    assert page.eval_on_selector_all("#upload-action option", "os => os.map(o => o.value)") == ["reconstruct"]
    # native-size images scaled up without smoothing
    scaled = page.eval_on_selector(
        "#interp-img", "i => [i.naturalWidth, i.getBoundingClientRect().width, getComputedStyle(i).imageRendering]"
    )
    assert scaled[0] == 28 and scaled[1] > 2 * 28 and scaled[2] == "pixelated"
    # the training chart, an SVG the server draws as reports do: loss by default, then another quantity
    before = wait_image(page, "#curve-img")
    assert curve_keys(page) == ["loss", "recon", "kl", "elbo"]  # bookkeeping (step, seconds, ...) left out
    assert page.input_value("#curve-key") == "loss" and "of loss" in page.get_attribute("#curve-img", "alt")
    chart = chart_text(page)
    assert 'aria-label="loss"' in chart and all(
        label in chart for label in ("logged steps", "train (epoch)", "test (epoch)")
    )
    assert 0.005 < chart_ink(page) < 0.2  # lines and labels drawn, nothing filled in black
    assert page.eval_on_selector("#curve-img", "i => i.getBoundingClientRect().width") > 300
    page.select_option("#curve-key", "kl")
    wait_image(page, "#curve-img", before)
    assert 'aria-label="kl"' in chart_text(page) and "of kl" in page.get_attribute("#curve-img", "alt")
    # eval table, config
    assert page.locator("#eval-table tbody tr").count() == 5
    assert (
        page.text_content("#eval-table tbody tr:first-child th, #eval-table tbody tr:first-child td") == "-ELBO (nats)"
    )
    assert "64 test images" in page.text_content("#eval-notes")
    assert "stale" in page.text_content("#eval-notes .stale") and "nll" in page.text_content("#eval-notes .stale")
    assert not page.is_visible("#config")
    page.click("#config-details summary")
    assert page.is_visible("#config") and '"latent_dim": 2' in page.text_content("#config")
    assert page.is_hidden("#error")


def test_a_run_without_training_records_shows_a_note_instead_of_a_chart(page, studio):
    """No curves (the page handed an empty list): a note instead of the chart, the quantity picker disabled."""
    select_run(page, studio, "vae")
    page.wait_for_function("() => document.querySelector('#curve-key').value === 'loss'")
    wait_image(page, "#curve-img")  # nothing in flight that would show the chart again
    try:
        page.evaluate("() => showCurves({names: []})")
        assert page.is_visible("#curve-note") and page.is_hidden("#curve-img") and page.is_disabled("#curve-key")
        assert curve_keys(page) == []
    finally:
        page.evaluate("() => loadDetails()")  # the run's own curves again
    page.wait_for_function("() => document.querySelector('#curve-key').value === 'loss'")
    page.wait_for_function("() => !document.querySelector('#curve-img').hidden")
    assert page.is_hidden("#curve-note")


def test_new_samples_changes_the_image(page, studio):
    select_run(page, studio, "vae")
    before_src = wait_image(page, "#samples-img")
    before, seed = digest(page, "#samples-img"), page.input_value("#seed")
    page.click("#new-samples")
    wait_image(page, "#samples-img", before_src)
    assert page.input_value("#seed") != seed
    assert digest(page, "#samples-img") != before


def test_interpolation_slider_updates_live_and_shows_the_latest(page, studio):
    select_run(page, studio, "vae")
    start_src = wait_image(page, "#interp-img")
    start = digest(page, "#interp-img")
    asked = []
    listener = lambda r: asked.append(r.url) if "interpolate.png" in r.url else None  # noqa: E731
    page.on("request", listener)
    page.focus("#interp-t")
    for _ in range(20):
        page.keyboard.press("ArrowRight")  # keyboard drives the slider; each step an `input` event
    page.keyboard.press("End")
    wait_image(page, "#interp-img", start_src)
    page.wait_for_function("() => !document.querySelector('#interp-img').hasAttribute('aria-busy')")
    page.remove_listener("request", listener)
    assert page.input_value("#interp-t") == "1"
    assert asked and "t=1" in asked[-1].split("?")[1].split("&")
    end = digest(page, "#interp-img")
    assert end != start
    assert end == url_digest(page, asked[-1])  # what shows is the answer to the latest slider position


def test_traversal_slider_changes_the_decoded_image(page, studio):
    select_run(page, studio, "vae")
    before_src = wait_image(page, "#traverse-img")
    before = digest(page, "#traverse-img")
    page.fill("#z-0", "3.5")
    wait_image(page, "#traverse-img", before_src)
    assert digest(page, "#traverse-img") != before


def test_vae_upload_shows_the_reconstruction(page, studio, tmp_path):
    select_run(page, studio, "vae")
    page.set_input_files("#upload-input", str(write_png(tmp_path / "digit.png", 56)))
    wait_image(page, "#upload-img")
    width, height = page.eval_on_selector("#upload-img", "i => [i.naturalWidth, i.naturalHeight]")
    assert width >= 2 * 28 and height >= 28  # the input resized to the model, then its reconstruction
    assert page.is_hidden("#error")


def test_bad_upload_shows_the_servers_error(page, studio, browser_page, tmp_path):
    select_run(page, studio, "vae")
    bad = tmp_path / "noise.png"
    bad.write_bytes(os.urandom(2048))
    expected = upload_error(studio, "vae", "reconstruct", bad)
    page.set_input_files("#upload-input", str(bad))
    page.wait_for_selector("#error", state="visible")
    page.wait_for_function("(text) => document.querySelector('#error-text').textContent === text", arg=expected)
    assert page.get_attribute("#error", "role") == "alert"
    expect_refusals(browser_page[1], "upload.png")  # Chromium logs the 4xx answer itself, nothing else
    # too large, dropped on the drop zone: refused in the page, before any request
    dropped = page.evaluate_handle("""() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(5_000_001)], "big.png", {type: "image/png"}));
        return transfer; }""")
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": dropped})
    page.wait_for_function("() => document.querySelector('#error-text').textContent.includes('the limit is 5 MB')")
    page.click("#error-close")
    assert page.is_hidden("#error")


def test_conditional_gan_class_picker_changes_samples(page, studio):
    select_run(page, studio, "cgan")
    src = wait_image(page, "#samples-img")
    assert page.is_visible("#class-section") and not page.is_visible("#manifold-section")
    assert page.locator("#class-select option").count() == studio.runs["cgan"]["num_classes"] + 1
    seen = {digest(page, "#samples-img")}
    for label in ("3", "7"):
        page.select_option("#class-select", label)
        src = wait_image(page, "#samples-img", src)
        assert "label=" + label in page.evaluate(
            "() => performance.getEntriesByType('resource')"
            ".map(e => e.name).filter(n => n.includes('samples.png')).pop()"
        )
        seen.add(digest(page, "#samples-img"))
    assert len(seen) == 3
    page.select_option("#class-select", "")


def test_cyclegan_upload_translates_a_to_b(page, studio, tmp_path):
    select_run(page, studio, "cyclegan")
    run = studio.runs["cyclegan"]
    assert page.eval_on_selector_all("#upload-action option", "os => os.map(o => o.value)") == run["directions"]
    assert page.is_visible("#samples-section") == run["can"]["sample"]
    page.select_option("#upload-action", "a2b")
    page.set_input_files("#upload-input", str(write_png(tmp_path / "square.png", 40)))
    wait_image(page, "#upload-img")
    width, height = page.eval_on_selector("#upload-img", "i => [i.naturalWidth, i.naturalHeight]")
    assert width >= 2 * 32 and height >= 32
    page.wait_for_function("() => document.querySelector('#curve-key').textContent.includes('g/cycle')")
    assert page.input_value("#curve-key") == "g/loss"  # logged every step: a line, not the test loss's one dot
    before = wait_image(page, "#curve-img")
    assert "logged steps" in chart_text(page) and "train (epoch)" in chart_text(page)
    page.select_option("#curve-key", "loss")
    wait_image(page, "#curve-img", before)
    chart = chart_text(page)  # the test loss of the one epoch: a marker, not a speck in an empty plot
    assert "test (epoch)" in chart and "logged steps" not in chart and chart.count("<circle") == 1
    assert 'class="level"' in chart and "one value so far" in chart  # its level across the plot, and why
    assert chart_ink(page) > 0.005
    assert '"cyclegan"' in page.text_content("#config")


def test_toy_run_shows_the_scatter_plot(page, studio):
    select_run(page, studio, "toy")
    wait_image(page, "#samples-img")
    assert page.is_visible("#samples-section")
    assert not any(
        visible_ids(page, ["interp-section", "traverse-section", "manifold-section", "class-section"]).values()
    )
    width = page.eval_on_selector("#samples-img", "i => i.naturalWidth")
    assert width > 28


def test_narrow_window_has_no_horizontal_scroll(page, studio):
    select_run(page, studio, "vae")
    page.set_viewport_size({"width": 360, "height": 800})
    try:
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    finally:
        page.set_viewport_size({"width": 1200, "height": 900})


def test_requests_elsewhere_would_be_blocked_and_seen(page, browser_page):
    """The guard behind every test's 'nothing fetched from elsewhere' check works."""
    log = browser_page[1]
    page.evaluate("() => fetch('http://example.com/x.js').catch(() => null)")
    page.wait_for_function("() => true")
    assert log["blocked"] == ["http://example.com/x.js"]
    log["blocked"].clear()
    log["errors"].clear()  # Chromium logs the aborted request

"""The web studio in a real browser: headless Debian Chromium driven by Playwright.

Serves the studio (a tiny model, a free loopback port, this process) and uses it as a person
would: Stylize in view without scrolling (1280x800 and a 390x844 phone), Download disabled until
there is a result, a refusal shown beside the button that stays until the next try, a painting
picked by clicking its tile, a progress bar that moves with the pipeline's steps, and the PNG
downloaded under the photo's and the style's names, its pixels differing from the photo.
Set FLOWSTYLE_WEB_SCREENSHOT=docs/img/web.png (and FLOWSTYLE_WEB_MODEL=artflow-adaattn-1x16) to write
the README's screenshot with a shipped model instead of the tiny one.
"""

from __future__ import annotations

import os
import re
import shutil
import time

import numpy as np
import pytest
from PIL import Image

from flowstyle.web.studio import GALLERY, Studio, asset, model_table

from .web_server import running

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def _chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class _Unhurried:
    """The real stylizer, each progress step held 0.15 s so the page's bar can be watched."""

    def __init__(self, stylizer):
        self.stylizer, self.model = stylizer, stylizer.model

    def options_for(self, *args, **keywords):
        return self.stylizer.options_for(*args, **keywords)

    def stylize(self, content, styles, options=None, progress=None, **keywords):
        def told(fraction, text):
            progress(fraction, text)
            time.sleep(0.15)

        return self.stylizer.stylize(content, styles, options, progress=told if progress else None, **keywords)


@pytest.fixture(scope="module")
def server(tiny_model_file):
    """The studio as `flowstyle serve` builds it (default limits), with one model."""
    from flowstyle.pipeline import Stylizer

    spec = os.environ.get("FLOWSTYLE_WEB_MODEL") or tiny_model_file
    models = model_table([spec])
    factory = None if os.environ.get("FLOWSTYLE_WEB_SCREENSHOT") else (lambda spec: _Unhurried(Stylizer(spec)))
    with running(Studio(models=models, stylizer_factory=factory)) as url:
        yield url, next(iter(models))


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium found (Debian: apt-get install chromium; .ci/run does it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _stylize_box(page) -> dict:
    return page.get_by_role("button", name="Stylize").bounding_box()


def test_upload_stylize_download_in_chromium(server, browser, photo_files, tmp_path):
    url, model = server
    shot = os.environ.get("FLOWSTYLE_WEB_SCREENSHOT")
    page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page.set_default_timeout(90_000)  # generous: the CI machine is shared with training jobs
    page.goto(url)
    # Controls are found by role and accessible name (what a screen reader announces).
    page.get_by_role("button", name="Stylize").wait_for()
    page.wait_for_timeout(500)  # the layout settles
    box = _stylize_box(page)
    assert box["y"] + box["height"] <= 800, box  # in view without scrolling
    assert page.evaluate("window.scrollY") == 0
    assert page.locator("#download").is_disabled()  # nothing to download yet

    # No photo yet: the refusal stays beside the button (Gradio's pop-ups go after a few seconds).
    page.get_by_role("button", name="Stylize").click()
    message = page.locator("#message")
    message.locator(".error").wait_for()
    assert "Add a photo first" in message.inner_text()
    page.wait_for_timeout(13_000)
    assert "Add a photo first" in message.inner_text() and message.is_visible()

    # A click on a tile picks that painting (alone).
    assert "The Great Wave" in page.locator("#chosen").inner_text()
    page.get_by_role("button", name="Thumbnail 2 of ").click()
    page.wait_for_function("document.querySelector('#chosen').innerText.includes('Village Street in Auvers')")
    assert "Great Wave" not in page.locator("#chosen").inner_text()
    assert "selected" in (page.get_by_role("button", name="Thumbnail 2 of ").get_attribute("class") or "")

    # the screenshot shows the bundled full-size sample; the test itself a tiny photo
    content_file = str(asset("astronaut.jpg")) if shot else photo_files["astronaut"]
    page.locator("#content input[type=file]").set_input_files(content_file)
    page.locator("#content img").first.wait_for()
    page.get_by_text("More options").click()
    assert page.get_by_label("Village Street in Auvers").is_checked()
    assert not page.get_by_label("The Great Wave off Kanagawa").is_checked()
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name=re.compile(re.escape(model))).click()
    assert page.locator("#quality").get_by_role("radio").count() == 3  # Quick, Finest, Painted strokes
    assert page.get_by_label("Painted strokes (slowest)").is_visible()  # offered; not run here: it is slow
    page.locator("#quality").get_by_role("radio", name="Quick" if shot else "Finest (slower)").check()
    size_box = page.get_by_label("number input for Picture size (longest side, px)")
    size_box.fill("128" if not shot else "384")
    size_box.press("Enter")
    page.wait_for_function("/Quick: (about|under)/.test(document.querySelector('#quality').innerText)")
    assert re.search(r"Painted strokes: (about \d+ s|under a second) \(about \d+ times as long as Quick\)",
                     page.locator("#quality").inner_text())
    page.get_by_role("button", name="Stylize").click()
    page.wait_for_function("!document.querySelector('#message .error')")  # gone with the new try

    # The bar moves with the pipeline's steps (styles, then each pass over the photo).
    result = page.locator("#result img")
    percents, texts = [], set()
    deadline = time.time() + (600 if shot else 90)
    while time.time() < deadline and not (result.count() and result.first.is_visible()):
        text = page.evaluate("(document.querySelector('#result [data-testid=status-tracker]') || {}).innerText || ''")
        found = re.search(r"([\d.]+)%", text)
        if found:
            percents.append(float(found.group(1)))
            texts.add(text.split("\n")[-1].split(" - ")[0])
        page.wait_for_timeout(100)
    result.wait_for(state="visible", timeout=600_000 if shot else 90_000)
    if not shot:
        assert len(set(percents)) >= 5, percents
        assert percents == sorted(percents), percents
        assert any(t.startswith("Reading the photo (pass") for t in texts), texts
        assert any(t.startswith("Painting the picture (pass") for t in texts), texts
    status = page.locator("#status").inner_text()
    assert "Done in" in status and "Village Street in Auvers" in status
    if not shot:  # the tiny model has two blocks: all squeeze phases are 16
        assert "16 passes blended" in status
    assert not page.locator("#download").is_disabled()
    with page.expect_download() as download:
        page.locator("#download").click()
    stem = os.path.splitext(os.path.basename(content_file))[0]
    assert download.value.suggested_filename == f"{stem}-in-village-street-in-auvers.png"
    out = tmp_path / "result.png"
    download.value.save_as(out)
    with Image.open(out) as img:
        assert img.format == "PNG"
        got = np.asarray(img.convert("RGB"), dtype=np.float64)
    content = Image.open(content_file).convert("RGB").resize(img.size, Image.BICUBIC)
    assert got.shape[:2] == (img.size[1], img.size[0]) and max(img.size) == (128 if not shot else 384)
    assert np.abs(got - np.asarray(content, dtype=np.float64)).mean() > 2.0  # stylized, not the photo
    page.screenshot(path=shot or str(tmp_path / "web.png"), full_page=True)
    page.close()


def test_own_style_replaces_the_painting_unless_mixed(server, browser, photo_files):
    url, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(90_000)
    page.goto(url)
    page.get_by_role("button", name="Stylize").wait_for()
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Use my own style image").click()
    chooser.value.set_files(photo_files["chelsea"])
    page.wait_for_function("document.querySelector('#chosen').innerText.includes('chelsea')")
    assert "Great Wave" not in page.locator("#chosen").inner_text()
    page.get_by_label("Mix it with the painting").check()
    page.get_by_role("button", name="Thumbnail 3 of ").click()
    page.wait_for_function("document.querySelector('#chosen').innerText.includes('Composition VIII')")
    assert "chelsea" in page.locator("#chosen").inner_text()
    page.close()


def test_phone_layout_keeps_stylize_on_the_first_screen(server, browser):
    url, _ = server
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(90_000)
    page.goto(url)
    page.get_by_role("button", name="Stylize").wait_for()
    page.wait_for_timeout(500)
    box = _stylize_box(page)
    assert box["y"] + box["height"] <= 844, box  # photo, paintings, then Stylize: no scrolling
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scroll
    page.close()

"""The web studio in a real browser: headless Debian Chromium driven by Playwright.

Serves the studio (a tiny model, a free loopback port, this process), uploads a photo,
stylizes, waits for the result, downloads the PNG and checks its pixels differ from the photo.
Set FLOWSTYLE_WEB_SCREENSHOT=docs/img/web.png (and FLOWSTYLE_WEB_MODEL=artflow-adain) to write
the README's screenshot with a shipped model instead of the tiny one.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from PIL import Image

from flowstyle.web.studio import Studio, asset, model_table

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


@pytest.fixture(scope="module")
def server(tiny_model_file):
    """The studio as `flowstyle serve` builds it (default limits), with one model."""
    spec = os.environ.get("FLOWSTYLE_WEB_MODEL") or tiny_model_file
    models = model_table([spec])
    with running(Studio(models=models)) as url:
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


def test_upload_stylize_download_in_chromium(server, browser, photo_files, tmp_path):
    url, model = server
    shot = os.environ.get("FLOWSTYLE_WEB_SCREENSHOT")
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    page.set_default_timeout(90_000)  # generous: the CI machine is shared with training jobs
    page.goto(url)
    # Controls are found by role and accessible name (what a screen reader announces).
    page.get_by_role("button", name="Stylize").wait_for()
    # the screenshot shows the bundled full-size sample; the test itself a tiny photo
    content_file = str(asset("astronaut.jpg")) if shot else photo_files["astronaut"]
    page.locator("#content input[type=file]").set_input_files(content_file)
    page.locator("#content img").first.wait_for()
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name=model, exact=True).click()
    page.get_by_label("Fast (the model's grid fix)" if shot else "All squeeze phases averaged (slower)").check()
    size_box = page.get_by_label("number input for Output size (longest side, px)")
    size_box.fill("128" if not shot else "384")
    size_box.press("Enter")
    page.get_by_role("button", name="Stylize").click()
    result = page.locator("#result img")
    result.wait_for(state="visible", timeout=600_000 if shot else 90_000)
    status = page.locator("#status").inner_text()
    assert "px in" in status
    if not shot:  # the tiny model has two blocks: all squeeze phases are 16
        assert "16 squeeze phases" in status
    with page.expect_download() as download:
        page.locator("#download").click()
    out = tmp_path / "result.png"
    download.value.save_as(out)
    with Image.open(out) as img:
        assert img.format == "PNG"
        got = np.asarray(img.convert("RGB"), dtype=np.float64)
    content = Image.open(content_file).convert("RGB").resize(img.size, Image.BICUBIC)
    assert got.shape[:2] == (img.size[1], img.size[0]) and max(img.size) == (128 if not shot else 384)
    assert np.abs(got - np.asarray(content, dtype=np.float64)).mean() > 2.0  # stylized, not the photo
    page.screenshot(path=shot or str(tmp_path / "web.png"), full_page=True)

    # A phone-width window: no sideways scrolling, the Stylize button still on the page.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.get_by_role("button", name="Stylize").is_visible()
    page.close()

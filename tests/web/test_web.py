"""The web studio's HTTP API, limits, result store and the `serve` command (no browser here)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from flowstyle.web.limits import LimitError, Limits
from flowstyle.web.store import ResultStore
from flowstyle.web.studio import DEFAULT_QUALITY, GALLERY, QUALITY, REFINE_STEPS, Studio, parse_weights

from ..hostile import encode, pattern, png_bomb
from .web_server import running

gradio_client = pytest.importorskip("gradio_client")
README = Path(__file__).resolve().parents[2] / "README.md"
BUNDLED = next(iter(GALLERY))
TIMEOUT = 60  # seconds; the test machine is shared with training jobs


def _client(url: str):
    return gradio_client.Client(url, verbose=False)


@pytest.fixture(scope="module")
def studio_url(tiny_model_file):
    limits = Limits(max_upload_mb=0.5, max_megapixels=1.0, max_side=256, max_queue=4)
    with running(Studio(models={"tiny": tiny_model_file}, limits=limits)) as url:
        yield url


def test_api_stylize_returns_png_of_the_requested_size(studio_url, photo_files, tmp_path):
    client = _client(studio_url)
    result, download, status = client.predict(
        content=gradio_client.handle_file(photo_files["coffee"]),  # 64x43
        style_uploads=[gradio_client.handle_file(photo_files["chelsea"])],
        bundled_styles=[BUNDLED], weights="2, 1", model="tiny", size=96, quality="Fast (the model's grid fix)",
        api_name="/stylize",
    )
    with Image.open(result) as img:
        assert img.format == "PNG" and img.size == (96, 64)
        out = np.asarray(img.convert("RGB"), dtype=np.float64)
    content = Image.open(photo_files["coffee"]).convert("RGB").resize((96, 64), Image.BICUBIC)
    assert np.abs(out - np.asarray(content, dtype=np.float64)).mean() > 2.0  # stylized, not a copy
    assert Path(download).read_bytes() == Path(result).read_bytes()
    assert Path(download).name == "coffee-in-the-great-wave-off-kanagawa-and-1-more.png"  # photo-in-style.png
    assert "96x64 px" in status and "The Great Wave off Kanagawa, chelsea" in status
    name = re.search(r"results/([0-9a-f]{32}\.png)", status).group(1)
    served = httpx.get(studio_url + "results/" + name, timeout=TIMEOUT)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.content == Path(result).read_bytes()


def test_oversize_and_too_many_megapixels_are_refused_with_a_message(studio_url, tmp_path):
    noise = tmp_path / "noise.png"  # ~1.4 MB of incompressible pixels against a 0.5 MB cap
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (700, 700, 3), dtype=np.uint8)).save(noise)
    with noise.open("rb") as f:
        r = httpx.post(studio_url + "gradio_api/upload", files={"files": ("noise.png", f, "image/png")}, timeout=TIMEOUT)
    assert r.status_code == 413 and "maximum allowed size" in r.text

    big = tmp_path / "big.png"  # 1.44 MP, a few kB on disk
    Image.new("RGB", (1200, 1200), (200, 100, 50)).save(big)
    with pytest.raises(Exception, match=r"1200x1200 \(1.4 megapixels\); this studio takes images up to 1 megapixels"):
        _client(studio_url).predict(content=gradio_client.handle_file(str(big)), model="tiny", size=64,
                                    api_name="/stylize")


def test_bad_requests_get_clear_errors(studio_url, photo_files):
    client = _client(studio_url)
    content = gradio_client.handle_file(photo_files["astronaut"])
    with pytest.raises(Exception, match="Pick a style: click a painting"):
        client.predict(content=content, bundled_styles=[], model="tiny", size=64, api_name="/stylize")
    with pytest.raises(Exception, match="Got 1 style weights for 2 styles"):
        client.predict(content=content, bundled_styles=list(GALLERY)[:2], weights="1", model="tiny", size=64,
                       api_name="/stylize")


def test_colour_preservation_and_a_region_mask_through_the_api(studio_url, photo_files, tmp_path):
    client = _client(studio_url)
    mask = tmp_path / "mask.png"  # left half: first style, right half: second
    Image.fromarray(np.repeat(np.r_[np.zeros(32), np.full(32, 255)][None].astype(np.uint8), 64, 0)).save(mask)
    result, _, status = client.predict(
        content=gradio_client.handle_file(photo_files["astronaut"]), bundled_styles=list(GALLERY)[:2],
        model="tiny", size=64, quality="Fast (the model's grid fix)", preserve_color=True,
        mask=gradio_client.handle_file(str(mask)), api_name="/stylize",
    )
    with Image.open(result) as img:
        assert img.size == (64, 64)
    with pytest.raises(Exception, match="style weights do not apply with a mask"):
        client.predict(content=gradio_client.handle_file(photo_files["astronaut"]), bundled_styles=list(GALLERY)[:2],
                       weights="1, 2", model="tiny", size=64, mask=gradio_client.handle_file(str(mask)),
                       api_name="/stylize")


def _call(url: str, data: list) -> httpx.Response:
    return httpx.post(url + "gradio_api/call/stylize", json={"data": data}, timeout=TIMEOUT)


def _outcome(url: str, event_id: str) -> str:
    with httpx.stream("GET", f"{url}gradio_api/call/stylize/{event_id}", timeout=TIMEOUT) as r:
        return r.read().decode()


def test_no_path_from_a_request_is_read_and_unknown_results_are_404(studio_url):
    # A request naming a server file as its image is refused before anything is copied.
    data = [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, [], [BUNDLED], "", "tiny",
            "adain", 1.0, 64, "Fast (the model's grid fix)", False, None]
    r = _call(studio_url, data)
    assert r.status_code == 200
    events = _outcome(studio_url, r.json()["event_id"])
    assert "event: error" in events
    assert "root:" not in events and "/etc/passwd" not in events  # refused, and the refusal shows nothing
    # Results: only names the store gave out; traversal and unknown names are 404.
    for path in ("results/..%2F..%2F..%2Fetc%2Fpasswd", "results/../../etc/passwd", "results/" + "0" * 32 + ".png",
                 "results/%2Fetc%2Fpasswd", "results/.hidden.png"):
        r = httpx.get(studio_url + path, timeout=TIMEOUT)
        assert r.status_code == 404, path
        assert "root:" not in r.text
    # Gradio's own file route refuses files outside the app's folders.
    for path in ("gradio_api/file=/etc/passwd", "gradio_api/file=../../../../etc/passwd"):
        r = httpx.get(studio_url + path, timeout=TIMEOUT)
        assert r.status_code in (403, 404), path
        assert "root:" not in r.text


def test_health(studio_url):
    r = httpx.get(studio_url + "health", timeout=TIMEOUT)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["models"] == ["tiny"]


class _SlowStylizer:
    def stylize(self, content, styles, options=None, **keywords):
        time.sleep(3.0)
        with Image.open(content) as img:
            return img.convert("RGB")


def test_queue_full_gets_a_busy_answer(photo_files):
    limits = Limits(max_queue=1, concurrency=1)
    studio = Studio(models={"slow": "unused"}, limits=limits, stylizer_factory=lambda spec: _SlowStylizer())
    with running(studio) as url:
        with open(photo_files["astronaut"], "rb") as f:
            uploaded = httpx.post(url + "gradio_api/upload", files={"files": ("a.png", f, "image/png")}, timeout=TIMEOUT).json()[0]
        content = {"path": uploaded, "meta": {"_type": "gradio.FileData"}}
        data = [content, [], [BUNDLED], "", "slow", "adain", 1.0, 64, "Fast (the model's grid fix)", False, None]
        with ThreadPoolExecutor(4) as pool:  # one runs, one waits, the rest are turned away
            answers = list(pool.map(lambda _: _call(url, data), range(4)))
        codes = [a.status_code for a in answers]
        busy = [a for a in answers if a.status_code == 503]
        assert busy, codes
        assert all("Queue is full" in a.json()["detail"] for a in busy)
        accepted = [a.json()["event_id"] for a in answers if a.status_code == 200]
        assert accepted
        for event_id in accepted:  # the accepted ones still finish
            assert "event: complete" in _outcome(url, event_id)
        assert httpx.get(url + "health", timeout=TIMEOUT).json()["status"] == "ok"


def test_result_store_bounds_and_names(tmp_path):
    store = ResultStore(tmp_path, keep=3, max_age=100.0)
    paths = [store.save(Image.new("RGB", (4, 4), (i, 0, 0))) for i in range(5)]
    assert len(store.names()) == 3
    assert store.path(paths[-1].name) == paths[-1]
    assert store.path(paths[0].name) is None  # dropped by the count bound
    for name in ("../x.png", "/etc/passwd", "a" * 32 + ".jpg", "", None):
        assert store.path(name) is None
    assert store.clean(now=time.time() + 101) == 3 and store.names() == []


def test_limits_and_weights(tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    with pytest.raises(LimitError, match="not an image"):
        Limits().check_image_file(junk, "content photo")
    bomb = tmp_path / "bomb.png"  # a valid header declaring 100000 x 100000 pixels, a few bytes of data
    bomb.write_bytes(png_bomb())
    with pytest.raises(LimitError, match=r"100000x100000 \(10000.0 megapixels\); this studio takes images up to 25"):
        Limits().check_image_file(bomb, "content photo")
    odd = tmp_path / "photo.png"  # a real image, but in a format the image reader does not take
    odd.write_bytes(encode(Image.fromarray(pattern()), "ICO"))
    with pytest.raises(LimitError, match="not an image"):
        Limits().check_image_file(odd, "content photo")
    with pytest.raises(ValueError):
        Limits(max_megapixels=1e6)  # above the image reader's own limit
    assert parse_weights(" 2, 1 ", 2) == [2.0, 1.0] and parse_weights("", 3) is None
    for text in ("a, b", "1, -1", "0, 0"):
        with pytest.raises(LimitError):
            parse_weights(text, 2)


def test_studio_refuses_unknown_names(tiny_model_file):
    studio = Studio(models={"tiny": tiny_model_file})
    try:
        with pytest.raises(LimitError, match="Unknown bundled style"):
            studio.styles_for([], ["../../etc/passwd"])
        with pytest.raises(LimitError, match="Unknown model"):
            studio.stylizer("/etc/passwd")
        with pytest.raises(LimitError, match="Output size"):
            studio.options(1, None, 1.0, "", 5000, None)
    finally:
        studio.close()


def test_readme_client_example_runs_as_written(studio_url, tmp_path, monkeypatch):
    """The README's gradio_client example, against a test server with a tiny model."""
    text = README.read_text()
    code = re.search(r"<!-- web-client-example -->\s*```python\n(.*?)```", text, re.S).group(1)
    code = code.replace("http://127.0.0.1:7860/", studio_url).replace('"artflow-adain"', '"tiny"')
    for name in ("photo.jpg", "painting.jpg"):
        Image.fromarray(np.random.default_rng(len(name)).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(
            tmp_path / name)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    with Image.open(tmp_path / "stylized.png") as img:
        assert img.format == "PNG" and max(img.size) == 256


def test_serve_warns_off_loopback(monkeypatch, capsys):
    from flowstyle.cli import main
    from flowstyle.cli.serve import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    started = {}
    monkeypatch.setattr("flowstyle.web.serve", lambda **kw: started.update(kw))
    assert main(["serve", "--host", "0.0.0.0", "--port", "8123", "--max-queue", "2"]) == 0
    assert "warning: binding to 0.0.0.0" in capsys.readouterr().err
    assert started["host"] == "0.0.0.0" and started["port"] == 8123
    assert started["studio"].limits.max_queue == 2
    started["studio"].close()
    assert main(["serve"]) == 0
    assert "warning" not in capsys.readouterr().err and started["host"] == "127.0.0.1"
    started["studio"].close()


def test_the_summary_says_how_many_passes_in_plain_words(tiny_model_file, photo_files):
    """The status line names the styles, the choice (quick or finest) and the passes it blended."""
    studio = Studio(models={"tiny": tiny_model_file})
    try:
        fast = studio.run(str(photo_files["astronaut"]), [], [BUNDLED], model="tiny", size=64)
        every = studio.run(str(photo_files["astronaut"]), [], [BUNDLED], model="tiny", size=64,
                           quality="All squeeze phases averaged (slower)")
        estimate = studio.estimate("tiny", 512)
        bigger = studio.estimate("tiny", 1024)  # both painted at the work size and carried to full size
        assert fast.download.read_bytes() == fast.path.read_bytes()
    finally:
        studio.close()
    assert "in the style of The Great Wave off Kanagawa" in fast.summary
    assert "quick (1 pass)" in fast.summary and "finest (16 passes blended)" in every.summary
    assert str(fast.path) not in fast.summary
    assert fast.name == "astronaut-in-the-great-wave-off-kanagawa.png" and fast.download.name == fast.name
    quick, finest, painted = estimate.values()
    assert 0 < quick < finest  # seconds; the page shows them beside the choice
    assert painted > 10 * quick  # 8 refinement steps of about 3 flow passes each
    assert bigger == estimate


PAINTED = "Refined towards the style's strokes (slowest)"
FINEST = "All squeeze phases averaged (slower)"


class _Recording:
    """A stand-in stylizer that keeps the options it is given (no real refinement: it is slow)."""

    def __init__(self) -> None:
        self.seen = []

    def stylize(self, content, styles, options=None, **keywords):
        self.seen.append(options)
        with Image.open(content) as img:
            return img.convert("RGB")


def test_painted_strokes_reach_the_stylizer_as_refinement_steps(photo_files, tmp_path):
    """The third choice is the model's default quality plus REFINE_STEPS refinement steps; the
    old two (and their API values) still mean what they meant, with no refinement."""
    stand_in = _Recording()
    studio = Studio(models={"rec": "unused"}, stylizer_factory=lambda spec: stand_in)
    photo = str(photo_files["astronaut"])
    try:
        results = {q: studio.run(photo, [], [BUNDLED], model="rec", size=64, quality=q)
                   for q in (DEFAULT_QUALITY, FINEST, PAINTED)}
        default = studio.run(photo, [], [BUNDLED], model="rec", size=64, quality=None)
        with pytest.raises(LimitError, match=r"^Unknown quality 'Best'; choose one of: Fast \(the model's grid fix\), "
                                             r"All squeeze phases averaged \(slower\), Refined towards"):
            studio.run(photo, [], [BUNDLED], model="rec", size=64, quality="Best")
        mask = tmp_path / "mask.png"
        Image.new("L", (64, 64), 0).save(mask)
        with pytest.raises(LimitError, match="^Painted strokes does not combine with a region mask; remove the "
                                             "mask, or choose Quick or Finest.$"):
            studio.run(photo, [], [BUNDLED], model="rec", size=64, quality=PAINTED, mask=str(mask))
    finally:
        studio.close()
    assert [(o.quality, o.refine) for o in stand_in.seen] == [
        ("default", 0), ("finest", 0), ("default", REFINE_STEPS), ("default", 0)]
    assert REFINE_STEPS == 8 and list(QUALITY)[:2] == [DEFAULT_QUALITY, FINEST]  # the API's old values
    assert "quick (1 pass)" in results[DEFAULT_QUALITY].summary and "quick (1 pass)" in default.summary
    assert "finest (4 passes blended)" in results[FINEST].summary
    assert "painted strokes (8 refinement steps), model rec." in results[PAINTED].summary


def test_the_api_takes_every_quality_label_and_refuses_others(photo_files):
    stand_in = _Recording()
    with running(Studio(models={"rec": "unused"}, stylizer_factory=lambda spec: stand_in)) as url:
        client = _client(url)
        content = gradio_client.handle_file(photo_files["coffee"])
        for label in QUALITY:
            _, _, status = client.predict(content=content, bundled_styles=[BUNDLED], model="rec", size=64,
                                          quality=label, api_name="/stylize")
            assert "Done in" in status
        with pytest.raises(Exception, match="'Best'.* is not in the list of choices"):  # Gradio's own check
            client.predict(content=content, bundled_styles=[BUNDLED], model="rec", size=64, quality="Best",
                           api_name="/stylize")
    assert [o.refine for o in stand_in.seen] == [0, 0, REFINE_STEPS]


def test_the_gallery_is_paintings_with_licences():
    from flowstyle.web.studio import MODEL_WORDS, METHOD_WORDS, METHODS

    licences = (Path(__file__).resolve().parents[2] / "flowstyle" / "assets" / "LICENSES.md").read_text()
    assert len(GALLERY) >= 8
    total = 0
    for label, name in GALLERY.items():
        path = Path(__file__).resolve().parents[2] / "flowstyle" / "assets" / name
        with Image.open(path) as img:
            assert max(img.size) <= 512, name
        total += path.stat().st_size
        assert f"`{name}`" in licences, name
    assert total < 1.5e6
    assert set(METHOD_WORDS) == set(METHODS)  # every method described in words
    from flowstyle.models import REGISTRY
    assert set(MODEL_WORDS) >= set(REGISTRY)

"""The web studio's page (Gradio) and its HTTP app (FastAPI): a thin front end over `Studio`.

Routes: the page at `/`; Gradio's API with the named endpoint `/stylize` (the page uses it, and
so can `gradio_client`); `/health` (JSON); `/results/NAME.png` (only names the result store gave
out; anything else is 404).
"""

from __future__ import annotations

import html
import os
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from a local server

import fastapi  # noqa: E402
import gradio as gr  # noqa: E402
from fastapi.responses import FileResponse, JSONResponse  # noqa: E402

from .. import __version__  # noqa: E402
from ..errors import FlowstyleError  # noqa: E402
from ..pipeline.options import WORK_SIZE  # noqa: E402
from .limits import LimitError  # noqa: E402
from .studio import (  # noqa: E402
    DEFAULT_QUALITY, DEFAULT_SIZE, GALLERY, METHOD_WORDS, METHODS, MODEL_METHOD, QUALITY,
    SAMPLE_CONTENT, Studio, asset, style_name,
)

TITLE = "flowstyle studio"
INTRO = "Turn a photo into a painting: add a photo, click a painting, press **Stylize**. Everything runs on this computer."
# System fonts only: the page must not fetch anything from the internet.
THEME = gr.themes.Soft(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
CSS = """
#result img { object-fit: contain; }
#intro p { margin: 0; }
#message { min-height: 1.5em; }
#message .error { color: #b42318; font-weight: 600; }
#styles-gallery .thumbnail-item.selected, #styles-gallery button.selected { outline: 3px solid var(--color-accent); }
#chosen p { margin: 0; }
#styles-gallery .caption-label { display: none; }
#gallery-label p { margin: 0; }
@media (max-width: 640px) {
  .gradio-container { padding: 4px !important; }
  #content { max-height: 230px; }
}
"""


def unopened_upload(image: gr.Image) -> gr.Image:
    """Make an image input hand the studio the uploaded file unopened.

    gr.Image opens every upload with PIL before our code runs: a corrupt file then fails inside
    Gradio (a bare "Error" on the page) and a decompression bomb meets PIL's limit, not ours. With
    this, the studio's limits read the header and our reader decodes, so both get the studio's
    one-line messages (found by benchmarks/load_test.py). The instance's own method is replaced:
    a subclass would need its own front-end component.
    """
    gradio_preprocess = image.preprocess

    def preprocess(payload):
        if payload is None:
            return None
        if payload.path is None:  # an inline data: URL from an API client: Gradio decodes it
            try:
                return gradio_preprocess(payload)
            except Exception:
                raise gr.Error("The image is not one this studio can read (JPEG, PNG, WebP, ...).",
                               print_exception=False) from None
        return str(payload.path)

    image.preprocess = preprocess
    return image


def _error_html(text: str) -> str:
    return f'<p class="error" role="alert">{html.escape(text)}</p>'


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    if value >= 90:
        return f"about {round(value / 60)} min"
    return "under a second" if value < 1 else f"about {max(1, round(value))} s"


def _times(ratio: float) -> str:
    """4.2 -> 'about 4 times as long as'."""
    return f"about {max(2, round(ratio))} times as long as"


def build_page(studio: Studio) -> gr.Blocks:
    """The page: photo and style side by side, Stylize under them, then the result (stacked on a
    phone: photo, styles, Stylize, result). Settings wait in a closed "More options"."""
    limits = studio.limits
    gallery_labels = list(GALLERY)
    first = gallery_labels[0]

    def quality_info(model, size) -> str:
        """Each choice's time (and how many Quick pictures it costs) and what it does."""
        est = studio.estimate(model, size)
        if not est:
            return " ".join(f"{c.name}: {c.why}." for c in QUALITY.values())
        quick = est.get(DEFAULT_QUALITY)
        notes = []
        for label, choice in QUALITY.items():
            seconds = est.get(label)
            if label == DEFAULT_QUALITY:
                notes.append(f"{choice.name}: {_seconds(seconds)} at {int(size or DEFAULT_SIZE)} px.")
                continue
            times = f" ({_times(seconds / quick)} Quick)" if quick and seconds and seconds >= 1.5 * quick else ""
            notes.append(f"{choice.name}: {_seconds(seconds)}{times}; {choice.why}.")
        return " ".join(notes)

    def chosen_text(bundled, uploads) -> str:
        names = [style_name(b) for b in bundled or []] + [Path(u).name for u in uploads or []]
        if not names:
            return "**Style:** none yet: click a painting or add your own."
        return "**Style:** " + " + ".join(names)

    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(600, 3600)) as page:
        gr.Markdown(f"## {TITLE}\n{INTRO}", elem_id="intro")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                with gr.Row(equal_height=False):
                    with gr.Column(min_width=260):
                        content = unopened_upload(gr.Image(
                            label="1. Your photo", type="filepath", image_mode=None, sources=["upload", "clipboard"],
                            elem_id="content", height=220,
                        ))
                        sample = gr.Button("No photo at hand? Use the sample", size="sm", variant="secondary",
                                           elem_id="sample")
                    with gr.Column(min_width=260):
                        gr.Markdown("**2. Click a painting**", elem_id="gallery-label")
                        gallery = gr.Gallery(
                            [(str(asset(f)), label) for label, f in GALLERY.items()],
                            show_label=False, columns=3, height=200, allow_preview=False,
                            interactive=False, selected_index=0, elem_id="styles-gallery", object_fit="cover",
                            buttons=[],
                        )
                        chosen = gr.Markdown(chosen_text([first], []), elem_id="chosen")
                        with gr.Row(equal_height=True):
                            own = gr.UploadButton("Use my own style image…", file_count="multiple", file_types=["image"],
                                                  size="sm", elem_id="own-style", min_width=120)
                            mix = gr.Checkbox(False, label="Mix it with the painting", elem_id="mix", min_width=120)
                        uploads = gr.File(
                            label="Your style images", file_count="multiple", file_types=["image"],
                            elem_id="styles", value=[], height=120, visible=False,
                        )
                with gr.Row(equal_height=True):
                    go = gr.Button("Stylize", variant="primary", elem_id="stylize", scale=1, min_width=140)
                    message = gr.HTML("", elem_id="message", padding=False, min_height=0)
                with gr.Accordion("More options", open=False, elem_id="options"):
                    alpha = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Style strength",
                                      info="1: all painting; lower keeps more of the photo.", elem_id="alpha")
                    size = gr.Slider(
                        64, limits.max_side, value=min(DEFAULT_SIZE, limits.max_side), step=32,
                        label="Picture size (longest side, px)", info=f"Up to the model's working size ({WORK_SIZE} px for the shipped ones) bigger pictures take longer (4x the time for 2x the side); "
                             "beyond it they are painted at that size and sharpened with the photo, which costs little more.",
                        elem_id="size",
                    )
                    quality = gr.Radio([(c.words, q) for q, c in QUALITY.items()], value=DEFAULT_QUALITY,
                                       label="Speed or finish", elem_id="quality")
                    model = gr.Dropdown(studio.model_choices(), value=studio.default_model, label="Model",
                                        info=studio.model_info(studio.default_model), elem_id="model")
                    method = gr.Dropdown([(METHOD_WORDS[m][0], m) if m in METHOD_WORDS else (m, m) for m in METHODS],
                                         value=MODEL_METHOD, label="How the style is applied",
                                         info=METHOD_WORDS[MODEL_METHOD][1], elem_id="method")
                    preserve_color = gr.Checkbox(
                        False, label="Keep the photo's colours (take only the painting's brushwork and light)",
                        elem_id="preserve-color",
                    )
                    bundled = gr.CheckboxGroup(
                        [(style_name(label), label) for label in gallery_labels], value=[first],
                        label="Paintings in use (tick several to blend them)", elem_id="bundled",
                    )
                    weights = gr.Textbox(
                        "", label="Style weights (when blending)",
                        placeholder="e.g. 2, 1: one number per style, paintings first; empty: equal", elem_id="weights",
                    )
                    mask = unopened_upload(gr.Image(
                        label="Region mask (optional): a grey or label image; the darkest region gets the first style",
                        type="filepath", image_mode=None, sources=["upload"], elem_id="mask", height=140,
                    ))
            with gr.Column(scale=2, min_width=300):
                result = gr.Image(
                    label="3. Your painting", type="filepath", format="png", interactive=False, elem_id="result",
                    buttons=["fullscreen"], height=420,
                )
                download = gr.DownloadButton("Download PNG", value=None, interactive=False, elem_id="download")
                status = gr.Markdown("", elem_id="status")
        gr.Markdown(
            f"Limits: files up to {limits.max_upload_mb:g} MB and {limits.max_megapixels:g} megapixels; "
            f"pictures up to {limits.max_side} px; {limits.concurrency} picture at a time, "
            f"{limits.max_queue} waiting at most. flowstyle {__version__}."
        )

        # --- choosing styles: a click picks a painting; an upload replaces it unless "Mix" is on
        def pick(mix_on, current, uploaded, evt: gr.SelectData):
            label = gallery_labels[evt.index]
            if mix_on:
                chosen_now = [b for b in current or [] if b != label] if label in (current or []) else [*(current or []), label]
                return chosen_now, gr.skip(), chosen_text(chosen_now, uploaded)
            return [label], gr.File(value=[], visible=False), chosen_text([label], [])

        gallery.select(pick, [mix, bundled, uploads], [bundled, uploads, chosen], queue=False, api_visibility="private")

        def uploaded(new, files, mix_on, current):
            files = [*(files or []), *(new or [])][-limits.max_styles:]
            shown = gr.File(value=files, visible=True)
            if files and not mix_on:
                return shown, [], gr.Gallery(selected_index=None), chosen_text([], files)
            return shown, gr.skip(), gr.skip(), chosen_text(current, files)

        own.upload(uploaded, [own, uploads, mix, bundled], [uploads, bundled, gallery, chosen], queue=False,
                   api_visibility="private")
        uploads.upload(lambda files, mix_on, current: uploaded([], files, mix_on, current)[1:],
                       [uploads, mix, bundled], [bundled, gallery, chosen], queue=False, api_visibility="private")
        uploads.clear(lambda current: (gr.File(visible=False), chosen_text(current, [])), [bundled], [uploads, chosen],
                      queue=False, api_visibility="private")
        sample.click(lambda: str(asset(SAMPLE_CONTENT)), None, [content], queue=False, api_visibility="private")
        bundled.input(chosen_text, [bundled, uploads], [chosen], queue=False, api_visibility="private")

        # --- words that follow the settings
        model.change(lambda m: gr.Dropdown(info=studio.model_info(m)), [model], [model], queue=False,
                     api_visibility="private")
        method.change(lambda m: gr.Dropdown(info=METHOD_WORDS.get(m, ("", ""))[1]), [method], [method], queue=False,
                      api_visibility="private")
        for trigger in (model.change, size.release, page.load):
            trigger(lambda m, s: gr.Radio(info=quality_info(m, s)), [model, size], [quality], api_visibility="private")

        inputs = [content, uploads, bundled, weights, model, method, alpha, size, quality, preserve_color, mask]

        def run(content, style_uploads, bundled_styles, weights, model, method, alpha, size, quality,
                preserve_color, mask, progress):
            return studio.run(
                content, style_uploads, bundled_styles, weights, model, method, alpha, size, quality,
                preserve_color, mask, progress=lambda fraction, text: progress(fraction, desc=text),
            )

        def attempt(*args):
            """(result, None), or (None, the one-line refusal a user caused) for the API and the page."""
            try:
                return run(*args), None
            except (LimitError, FlowstyleError) as exc:
                return None, str(exc)
            except MemoryError:
                return None, "Out of memory; try a smaller picture size."

        def stylize(content, style_uploads, bundled_styles, weights, model, method, alpha, size, quality,
                    preserve_color=False, mask=None, progress=gr.Progress()):
            """The API: (result PNG, the same under a friendly name, status); errors are gr.Error."""
            result, refusal = attempt(content, style_uploads, bundled_styles, weights, model, method, alpha, size,
                                      quality, preserve_color, mask, progress)
            if refusal is not None:
                raise gr.Error(refusal, print_exception=False)
            return str(result.path), str(result.download), f"{result.summary} {_link(result)}"

        def stylize_on_page(content, style_uploads, bundled_styles, weights, model, method, alpha, size, quality,
                            preserve_color=False, mask=None, progress=gr.Progress()):
            """The page: as the API, but a refusal stays as text beside the button until the next try."""
            result, refusal = attempt(content, style_uploads, bundled_styles, weights, model, method, alpha, size,
                                      quality, preserve_color, mask, progress)
            if refusal is not None:
                return gr.skip(), gr.skip(), gr.skip(), _error_html(refusal)
            button = gr.DownloadButton("Download PNG", value=str(result.download), interactive=True)
            return str(result.path), button, f"{result.summary} {_link(result)}", ""

        go.click(lambda: "", None, [message], queue=False, api_visibility="private").then(
            stylize_on_page, inputs, [result, download, status, message], api_visibility="private",
            concurrency_id="stylize", concurrency_limit=limits.concurrency, show_progress_on=[result],
        )
        # The API endpoint (gradio_client, README): the same inputs, errors as gr.Error.
        api = gr.Button(visible=False)
        api.click(stylize, inputs, [result, download, status], api_name="stylize", concurrency_id="stylize",
                  concurrency_limit=limits.concurrency)
    page.queue(max_size=limits.max_queue, default_concurrency_limit=limits.concurrency)
    return page


def _link(result) -> str:
    return f"[Open full size]({'results/' + result.path.name})"


def create_app(studio: Studio | None = None) -> fastapi.FastAPI:
    """The whole HTTP app: health and result routes, then the page and its API at `/`."""
    studio = studio or Studio()
    # Uploads and the page's copies of results go to the studio's own folder (cleaned by Gradio's
    # delete_cache, removed with the studio), not to a shared /tmp/gradio. Gradio reads this
    # setting from the environment, so one process serves one studio at a time.
    os.environ["GRADIO_TEMP_DIR"] = str(studio.upload_dir)
    app = fastapi.FastAPI(title=TITLE, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.studio = studio

    @app.get("/health")
    def health() -> dict:
        return {
            "status": "ok",
            "version": __version__,
            "running": studio.running,
            "models": list(studio.models),
            "loaded": studio.loaded_models(),
            "results": len(studio.store.names()),
        }

    @app.get("/results/{name}")
    def result_file(name: str):
        path = studio.store.path(name)
        if path is None:
            return JSONResponse({"detail": "no such result"}, status_code=404)
        return FileResponse(path, media_type="image/png", filename=name)

    page = build_page(studio)
    app = gr.mount_gradio_app(
        app, page, path="/", allowed_paths=[str(studio.store.root), str(studio.workdir / "downloads")], max_file_size=studio.limits.max_upload_bytes,
        ssr_mode=False, theme=THEME, css=CSS, footer_links=["api"],
        # Our refusals are gr.Error and always reach the user; any other exception (a malformed API
        # call, a bug) must not hand server paths or object reprs to the client: "Error" only.
        show_error=False,
    )
    # Gradio accepts a file path in an API request only if it is an upload in its cache, but it
    # skips that check until the Blocks count as launched, which `launch()` sets and
    # `mount_gradio_app` does not (Gradio 6.31): without this line a request naming /etc/passwd
    # gets it copied into the cache and served. tests/web/test_web.py checks it stays refused.
    page.has_launched = True
    return app


def serve(host: str = "127.0.0.1", port: int = 7860, studio: Studio | None = None) -> None:
    """Run the studio until interrupted (uvicorn, one process)."""
    import uvicorn

    app = create_app(studio)
    print(f"flowstyle studio on http://{host}:{port}/  (Ctrl-C stops it)", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        app.state.studio.close()

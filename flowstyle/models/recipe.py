"""Recipe: how a model is best run, its tuning (phases, grid filter, gain, anchor, key sampling,
detail lift).

Each weights file carries one (models/defaults.py), chosen when the model was made (docs/grid.md,
docs/generalisation.md); experts may override fields of it per call (`StylizeOptions.recipe`,
`flowstyle stylize --recipe KEY=VALUE`). The user's speed/quality choice maps onto its phases in
`for_quality`. Each field carries its help text (and type, choices) in its metadata, for the
command line's `--recipe` help and parsing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Union

from ..errors import FlowstyleError
from ..fields import option
from ..flow.phases import phase_plan
from ..image.detail import MAX_DETAIL
from ..image.lattice import MAX_GRID_FILTER, checked_grid_filter
from ..operators import (
    ANCHOR_STATS, DECORATOR_BALANCE, DECORATOR_MARKS, MAX_ANCHOR_NEAR, MAX_MARKS, Anchor, checked_anchor,
    checked_anchor_near, checked_anchor_stats,
)

MAX_GAIN = 3.0  # beyond this the extrapolated latent leaves the range the decoder was trained on
QUALITIES = ("fast", "default", "finest")


@dataclass(frozen=True)
class Recipe:
    """A model's tuning; the defaults are a plain single pass (what files without one get)."""

    phases: int = option(1, "squeeze phases averaged against the grid: 1, 2, 4 or all (16 for two blocks)", type=int)
    deep_phases: int = option(1, "two-block flows: the deepest block alone averaged over 1, 2 or 4 of its squeeze phases on each of those", type=int)
    gain: float = option(1.0, f"scale of the style change, above 0 and up to {MAX_GAIN:g} (restores what averaging softens)", type=float)
    grid_filter: float = option(0.0, f"width in px of the lattice filter that takes the squeeze grid out, 0 (off) .. {MAX_GRID_FILTER:g}", type=float)
    grid_filter_diagonal: float | None = option(None, "the filter's width for the grid's checkerboard (none: as grid_filter)", type=float)
    anchor: float = option(0.0, "AdaAttN: pull to the style's overall latent moments, 0 .. 1", type=float)
    anchor_stats: str = option(ANCHOR_STATS[0], "AdaAttN: what the anchor matches", choices=ANCHOR_STATS, type=str)
    anchor_near: float = option(0.0, f"AdaAttN: below this latent distance of content to style fade the attention out, 0 (off) .. {MAX_ANCHOR_NEAR:g}", type=float)
    max_keys: int | None = option(None, "AdaAttN / patch: sample at most this many style positions (none: all)", type=int)
    seed: int = option(0, "seed of that sampling", type=int)
    balance: float = option(DECORATOR_BALANCE, "patch: how evenly the style's patches are shared out over the photo, 0 (each spot's best match; steadier video) .. 1 (every patch about equally)", type=float)
    marks: float = option(DECORATOR_MARKS, f"patch: the style's brush marks kept crisp, taken whole from each spot's own match below a blur of this many latent positions, 0 (off: every overlapping patch averaged, softer) .. {MAX_MARKS:g}", type=float)
    detail: float = option(0.0, f"crisper edges: the output's fine detail lifted towards the style's contrast by at most this many times its own, 0 (off) .. {MAX_DETAIL:g}", type=float)

    def __post_init__(self) -> None:
        _whole("phases", self.phases)
        if _whole("deep_phases", self.deep_phases) not in (1, 2, 4):
            raise FlowstyleError(f"deep_phases must be 1, 2 or 4, got {self.deep_phases!r}")
        gain = _number("gain", self.gain)
        if not 0.0 < gain <= MAX_GAIN:
            raise FlowstyleError(f"gain must be above 0 and at most {MAX_GAIN:g}, got {self.gain!r}")
        object.__setattr__(self, "gain", gain)
        object.__setattr__(self, "grid_filter", checked_grid_filter(self.grid_filter))
        if self.grid_filter_diagonal is not None:
            object.__setattr__(self, "grid_filter_diagonal", checked_grid_filter(self.grid_filter_diagonal, "diagonal grid filter"))
        object.__setattr__(self, "anchor", checked_anchor(self.anchor))
        checked_anchor_stats(self.anchor_stats)
        object.__setattr__(self, "anchor_near", checked_anchor_near(self.anchor_near))
        if self.max_keys is not None:
            _whole("max_keys", self.max_keys)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise FlowstyleError(f"seed must be a whole number, got {self.seed!r}")
        balance = _number("balance", self.balance)
        if not 0.0 <= balance <= 1.0:
            raise FlowstyleError(f"balance must be between 0 and 1, got {self.balance!r}")
        object.__setattr__(self, "balance", balance)
        marks = _number("marks", self.marks)
        if not 0.0 <= marks <= MAX_MARKS:
            raise FlowstyleError(f"marks must be between 0 and {MAX_MARKS:g}, got {self.marks!r}")
        object.__setattr__(self, "marks", marks)
        detail = _number("detail", self.detail)
        if not 0.0 <= detail <= MAX_DETAIL:
            raise FlowstyleError(f"detail must be between 0 and {MAX_DETAIL:g}, got {self.detail!r}")
        object.__setattr__(self, "detail", detail)

    @property
    def anchoring(self) -> Anchor:
        """anchor, anchor_stats and anchor_near as the one value the operators take."""
        return Anchor(self.anchor, self.anchor_stats, self.anchor_near)

    @property
    def path_label(self) -> str:
        """The phase path in words: '16 squeeze phases', '1 squeeze phase x 4 deep'."""
        label = f"{self.phases} squeeze phase{'' if self.phases == 1 else 's'}"
        return label + (f" x {self.deep_phases} deep" if self.deep_phases != 1 else "")

    def __str__(self) -> str:
        """'1 squeeze phase, gain 1, grid filter 2 px (1 px diagonal), anchor 0.75 (...)': what differs
        from a plain pass, for listings and reports."""
        parts = [self.path_label, f"gain {self.gain:g}"]
        if self.grid_filter or self.grid_filter_diagonal:
            diagonal = self.grid_filter_diagonal
            parts.append(f"grid filter {self.grid_filter:g} px"
                         + (f" ({diagonal:g} px diagonal)" if diagonal is not None and diagonal != self.grid_filter else ""))
        if self.anchoring.active:
            parts.append(str(self.anchoring))
        if self.max_keys is not None:
            parts.append(f"at most {self.max_keys} keys (seed {self.seed})")
        if self.balance != DECORATOR_BALANCE:
            parts.append(f"patches shared out {self.balance:g}")
        if self.marks != DECORATOR_MARKS:
            parts.append(f"marks {self.marks:g}" if self.marks else "marks averaged")
        if self.detail:
            parts.append(f"detail lift up to {self.detail:g}")
        return ", ".join(parts)

    def check_for(self, n_block: int) -> Recipe:
        """Raise unless the phase counts suit a flow of `n_block` blocks (the pipeline's own plan
        is the check, so that the two cannot disagree)."""
        phase_plan(self.phases, n_block, self.deep_phases)
        return self

    def merged(self, overrides: RecipeLike | None) -> Recipe:
        """This recipe with `overrides` on top: a dict changes the fields it names; a Recipe
        replaces this one whole."""
        if overrides is None:
            return self
        if isinstance(overrides, Recipe):
            return overrides
        return dataclasses.replace(self, **recipe_changes(overrides))

    def changes(self) -> dict[str, Any]:
        """The fields that differ from a plain Recipe()."""
        plain = Recipe()
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != getattr(plain, f.name)}


RecipeLike = Union[Recipe, Mapping[str, Any]]


def recipe_changes(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`overrides` checked (Recipe field names with valid values), as a dict of its own."""
    if not isinstance(overrides, Mapping):
        raise FlowstyleError(f"recipe must be a Recipe or a dict of its fields, got {type(overrides).__name__}")
    known = recipe_fields()
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise FlowstyleError(f"unknown recipe field(s) {', '.join(map(str, unknown))}; known: {', '.join(known)}")
    Recipe(**overrides)  # each value checked
    return dict(overrides)


def recipe_fields() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Recipe))


def for_quality(recipe: Recipe, quality: str, all_phases: int) -> Recipe:
    """The user's speed/quality choice on a model's recipe. "default": the recipe as it is;
    "fast": one whole flow pass (the gain back to 1: it restores what averaging softens);
    "finest": every squeeze phase averaged (`all_phases`; no grid is left, so no lattice filter),
    several times slower."""
    if quality not in QUALITIES:
        raise FlowstyleError(f"unknown quality {quality!r}; choose from {', '.join(QUALITIES)}")
    if quality == "fast" and (recipe.phases, recipe.deep_phases) != (1, 1):
        return dataclasses.replace(recipe, phases=1, deep_phases=1, gain=1.0)
    if quality == "finest":
        return dataclasses.replace(recipe, phases=all_phases, deep_phases=1, gain=1.0, grid_filter=0.0, grid_filter_diagonal=None)
    return recipe


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in (float("inf"), float("-inf")):
        raise FlowstyleError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FlowstyleError(f"{name} must be a positive whole number, got {value!r}")
    return value

"""A model's typed inference defaults: what `stylize` uses where the caller leaves a choice open.

Stored as JSON under the weights file's own "defaults" metadata key and checked when the file is
read. Older files kept `default_phases` / `default_gain` in their free-form "info"; they still
load, converted (`from_metadata`). Change them with `flowstyle models set-defaults`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from ..errors import FlowstyleError
from ..flow.phases import phase_plan
from ..flow.precision import PRECISIONS
from ..image.lattice import checked_grid_filter
from ..operators import OPERATORS, Anchor, checked_anchor, checked_anchor_near, checked_anchor_stats

MAX_GAIN = 3.0  # beyond this the extrapolated latent leaves the range the decoder was trained on
LEGACY_INFO_KEYS = ("default_phases", "default_gain")


@dataclass(frozen=True)
class InferenceDefaults:
    """phases: squeeze phases averaged against the grid (docs/grid.md); deep_phases: those of
    the deepest block alone on each of them (flow/phases.phase_plan); gain: the latent-change
    scale chosen for those phases; method: the operator (None: the one the model was trained
    for); precision: the flow's precision, "auto" meaning bf16 where the machine has bf16 units
    (None: float32); anchor: AdaAttN's pull to the style's global latent moments
    (operators.anchor_moments; 0 for files from before it existed); anchor_stats: which moments
    it pulls, "mean-std" (AdaIN's) or "covariance" (WCT's); anchor_near: the latent distance below
    which the attention's own change fades out (operators.near_fade; 0: off); grid_filter: the width in px of the
    lattice filter that takes the grid out of the style change (image/lattice.py; 0: off);
    grid_filter_diagonal: its width for the grid's checkerboard, if other (None: the same)."""

    phases: int = 1
    deep_phases: int = 1
    gain: float = 1.0
    grid_filter: float = 0.0
    grid_filter_diagonal: float | None = None
    anchor: float = 0.0
    anchor_stats: str = "mean-std"
    anchor_near: float = 0.0
    method: str | None = None
    precision: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.phases, bool) or not isinstance(self.phases, int) or self.phases < 1:
            raise FlowstyleError(f"default phases must be a positive whole number, got {self.phases!r}")
        if isinstance(self.deep_phases, bool) or not isinstance(self.deep_phases, int) or self.deep_phases not in (1, 2, 4):
            raise FlowstyleError(f"default deep phases must be 1, 2 or 4, got {self.deep_phases!r}")
        if isinstance(self.gain, bool) or not isinstance(self.gain, (int, float)) or not 0.0 < self.gain <= MAX_GAIN:
            raise FlowstyleError(f"default gain must be above 0 and at most {MAX_GAIN}, got {self.gain!r}")
        object.__setattr__(self, "gain", float(self.gain))
        object.__setattr__(self, "grid_filter", checked_grid_filter(self.grid_filter, "default grid filter"))
        if self.grid_filter_diagonal is not None:
            object.__setattr__(self, "grid_filter_diagonal", checked_grid_filter(self.grid_filter_diagonal, "default diagonal grid filter"))
        object.__setattr__(self, "anchor", checked_anchor(self.anchor, "default anchor"))
        checked_anchor_stats(self.anchor_stats, "default anchor stats")
        object.__setattr__(self, "anchor_near", checked_anchor_near(self.anchor_near, "default anchor near"))
        if self.method is not None and self.method not in OPERATORS:
            raise FlowstyleError(f"default method must be one of {', '.join(OPERATORS)}, got {self.method!r}")
        if self.precision is not None and self.precision not in PRECISIONS:
            raise FlowstyleError(f"default precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")

    @property
    def anchoring(self) -> Anchor:
        """anchor, anchor_stats and anchor_near as the one value the operators take."""
        return Anchor(self.anchor, self.anchor_stats, self.anchor_near)

    def check_for(self, n_block: int) -> InferenceDefaults:
        """Raise unless the phase counts suit a flow of `n_block` blocks (the pipeline's own plan
        is the check, so that the two cannot disagree)."""
        phase_plan(self.phases, n_block, self.deep_phases)
        return self

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> InferenceDefaults:
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FlowstyleError(f"inference defaults are not JSON: {exc}") from None
        known = {f.name for f in fields(cls)}
        if not isinstance(values, dict) or set(values) - known:
            raise FlowstyleError(f"unknown inference defaults {sorted(set(values) - known) if isinstance(values, dict) else values!r}")
        return cls(**values)

    @classmethod
    def from_metadata(cls, metadata: dict[str, str], info: dict) -> InferenceDefaults:
        """The file's "defaults" key; else the legacy info keys (removed from `info`)."""
        legacy = {key: info.pop(key) for key in LEGACY_INFO_KEYS if key in info}
        if "defaults" in metadata:
            return cls.from_json(metadata["defaults"])
        return cls(phases=int(legacy.get("default_phases", 1)), gain=float(legacy.get("default_gain", 1.0)))

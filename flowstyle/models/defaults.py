"""A model's inference defaults: its `Recipe` (models/recipe.py) plus the operator, the flow
precision and the working size `stylize` uses where the caller leaves them open.

Stored as one flat JSON object under the weights file's own "defaults" metadata key (the recipe's
fields, "method", "precision", "work_size") and checked when the file is read; fields a file lacks take the
plain recipe's values. Older files kept `default_phases` / `default_gain` in their free-form
"info"; they still load, converted (`from_metadata`). Change them with
`flowstyle models set-defaults`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field

from ..errors import FlowstyleError
from ..flow.precision import PRECISIONS
from ..operators import OPERATORS
from .recipe import Recipe, recipe_fields

LEGACY_INFO_KEYS = ("default_phases", "default_gain")
OTHER_DEFAULTS = ("method", "precision", "work_size")  # the defaults beside the recipe


@dataclass(frozen=True)
class InferenceDefaults:
    """recipe: the model's tuning (phases, grid filter, gain, anchor, ...); method: the operator
    (None: the one the model was trained for); precision: the flow's precision, "auto" meaning
    bf16 where the machine has bf16 units (None: float32); work_size: the longest side in px the
    photo is painted at (None: the pipeline's WORK_SIZE; 0: the photo's own size)."""

    recipe: Recipe = field(default_factory=Recipe)
    method: str | None = None
    precision: str | None = None
    work_size: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.recipe, Recipe):
            raise FlowstyleError(f"recipe must be a Recipe, got {type(self.recipe).__name__}")
        if self.method is not None and self.method not in OPERATORS:
            raise FlowstyleError(f"default method must be one of {', '.join(OPERATORS)}, got {self.method!r}")
        if self.precision is not None and self.precision not in PRECISIONS:
            raise FlowstyleError(f"default precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.work_size is not None and (isinstance(self.work_size, bool) or not isinstance(self.work_size, int) or self.work_size < 0):
            raise FlowstyleError(f"default work size must be a whole number of px >= 0, got {self.work_size!r}")

    def check_for(self, n_block: int) -> InferenceDefaults:
        """Raise unless the recipe's phase counts suit a flow of `n_block` blocks."""
        self.recipe.check_for(n_block)
        return self

    def replace(self, recipe: dict | Recipe | None = None, **changes) -> InferenceDefaults:
        """These defaults with `recipe` merged over the recipe (`Recipe.merged`) and method,
        precision or work size replaced."""
        unknown = set(changes) - set(OTHER_DEFAULTS)
        if unknown:
            raise FlowstyleError(f"unknown default(s) {', '.join(sorted(unknown))}: give recipe fields as recipe={{...}}")
        return dataclasses.replace(self, recipe=self.recipe.merged(recipe), **changes)

    def to_json(self) -> str:
        return json.dumps({**asdict(self.recipe), **{name: getattr(self, name) for name in OTHER_DEFAULTS}})

    @classmethod
    def from_json(cls, text: str) -> InferenceDefaults:
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FlowstyleError(f"inference defaults are not JSON: {exc}") from None
        if not isinstance(values, dict):
            raise FlowstyleError(f"inference defaults must be a JSON object, got {values!r}")
        unknown = set(values) - set(recipe_fields()) - set(OTHER_DEFAULTS)
        if unknown:
            raise FlowstyleError(f"unknown inference defaults {sorted(unknown)}")
        recipe = Recipe(**{k: v for k, v in values.items() if k in recipe_fields()})
        return cls(recipe, **{name: values.get(name) for name in OTHER_DEFAULTS})

    @classmethod
    def from_metadata(cls, metadata: dict[str, str], info: dict) -> InferenceDefaults:
        """The file's "defaults" key; else the legacy info keys (removed from `info`)."""
        legacy = {key: info.pop(key) for key in LEGACY_INFO_KEYS if key in info}
        if "defaults" in metadata:
            return cls.from_json(metadata["defaults"])
        return cls(Recipe(phases=int(legacy.get("default_phases", 1)), gain=float(legacy.get("default_gain", 1.0))))

"""StylizeOptions: every choice one stylize call makes, typed, frozen and checked here only.

The Python API (`flowstyle.stylize`, `Stylizer.stylize`), the command line and the web page all
build one of these. Each field carries its help text (and, where it has a closed set of values,
its choices from the registries) in its metadata; the CLI generates its flags from them.

What a user chooses is a field here; how the model is tuned (phases, grid filter, gain, anchor,
key sampling) is the model's `Recipe` (models/recipe.py), which `recipe` may override field by
field. `for_model` fills in the model's choices and checks the options against it: the pipeline
only ever sees options that passed both.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from ..errors import FlowstyleError
from ..fields import option
from ..image.transforms import PAD_MODES
from ..models.recipe import QUALITIES, Recipe, RecipeLike, for_quality, recipe_changes
from ..operators import BLENDS, OPERATORS, normalize_weights
from .regions import MaskLike

# px, for models that do not name their own: the peer's working size; on validation photo x art
# pairs painting at 384 instead of 512 px kept the texture and style match and more of the photo
# (SSIM), at half the cost: the flow's cost grows with the pixel count, the patch search's with its
# square (docs/performance.md). A model may name its own (models/defaults.py); none of the
# shipped ones does (docs/generalisation.md: 512 px for the AdaAttN-trained flows, not shipped)
WORK_SIZE = 384
# px of reflected border around the photo inside the flow: at 512 px, 32 px left the border's grid
# and every quality measure where 64 px had them, and costs 20 % less (docs/performance.md)
PAD = 32

if TYPE_CHECKING:
    from ..models import StyleModel


@dataclass(frozen=True)
class StylizeOptions:
    """How to stylize. None means "the model's choice" where the help says so."""

    method: str | None = option(None, "transfer operator (default: the model's)", choices=OPERATORS, type=str)
    alpha: float = option(1.0, "style strength, 0 (content) .. 1 (full style)", type=float)
    style_weights: tuple[float, ...] | None = option(None, "one weight per style", type=float, nargs="+", metavar="W")
    blend: str = option("outputs", "how several styles mix: their results, or their latents (same-size styles)", choices=BLENDS, type=str)
    size: int | None = option(None, "resize so the longest side is N px", type=int, metavar="N")
    style_size: int | None = option(None, "longest side of the styles (default: the content's)", type=int, metavar="N")
    work_size: int | None = option(None, f"bigger photos are painted at N px on the longest side and carried to full size with the photo as the guide; 0: paint every pixel (slow for big photos) (default: the model's, {WORK_SIZE} unless it says)", type=int, metavar="N")
    quality: str = option("default", "speed/quality: fast (one flow pass), default (the model's recipe), finest (every squeeze phase averaged: no grid, several times slower)", choices=QUALITIES, type=str)
    preserve_color: bool = option(False, "keep the content's colours; take the style's texture")
    refine: int = option(0, "then N steps of refinement towards the style's strokes and textures (slow: each step costs about 3 flow passes)", type=int, metavar="N")
    mask: MaskLike | None = option(None, "grey or label image: one level per style, darkest first", type=str, compare=False)
    mask_feather: float = option(4.0, "soft edge of the mask's regions, in px", type=float, metavar="PX")
    tile: int | None = option(None, "band height in rows for big images; 0: never (default: automatic)", type=int, metavar="ROWS")
    pad: int = option(PAD, "border padding in px, against edge artifacts", type=int, metavar="PX")
    pad_mode: str = option("reflect", "how the border padding is filled", choices=PAD_MODES, type=str)
    # experts: the model's tuning changed (a dict of Recipe fields over the model's, or a whole Recipe)
    recipe: RecipeLike | None = option(None, "the model's recipe changed: a dict of Recipe fields, or a Recipe", flag=False)

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
        _choice("quality", self.quality, QUALITIES)
        _choice("pad mode", self.pad_mode, PAD_MODES)
        _whole("pad", self.pad, minimum=0)
        if self.work_size is not None:
            _whole("work_size", self.work_size, minimum=0)
        for name in ("size", "style_size"):
            if getattr(self, name) is not None:
                _whole(name, getattr(self, name), minimum=1)
        _whole("refine", self.refine, minimum=0)
        if self.tile is not None:
            _whole("tile", self.tile, minimum=0, what="None (automatic), 0 (never) or a positive row count")
        if not isinstance(self.preserve_color, bool):
            raise FlowstyleError(f"preserve_color must be True or False, got {self.preserve_color!r}")
        if not _number("mask_feather", self.mask_feather) >= 0:
            raise FlowstyleError(f"mask_feather must be >= 0 px, got {self.mask_feather}")
        if self.mask is not None and self.style_weights is not None:
            raise FlowstyleError("style weights do not apply with a mask: the mask gives each style its share")
        if self.mask is not None and self.refine:
            raise FlowstyleError("refine does not combine with a mask: it refines towards one set of styles")
        if self.mask is not None and self.blend != "outputs":
            raise FlowstyleError("a mask needs blend 'outputs' (each region is transferred with its own style)")
        if self.recipe is not None and not isinstance(self.recipe, Recipe):
            object.__setattr__(self, "recipe", recipe_changes(self.recipe))

    @classmethod
    def build(cls, options: StylizeOptions | None = None, **keywords: Any) -> StylizeOptions:
        """`options` (or the defaults) with `keywords` replacing single fields."""
        if options is None:
            return cls(**keywords)
        if not isinstance(options, cls):
            raise TypeError(f"options must be a StylizeOptions, got {type(options).__name__}")
        return dataclasses.replace(options, **keywords) if keywords else options

    def replace(self, **changes: Any) -> StylizeOptions:
        return dataclasses.replace(self, **changes)

    def for_model(self, model: StyleModel, n_styles: int) -> StylizeOptions:
        """These options with the model's choices filled in, checked against the model: the
        method and the working size (the model's unless given) and the whole recipe: the
        model's, set to `quality` (`for_quality`), without its detail lift when the method is not
        the model's own, then the user's `recipe` over it."""
        defaults = model.defaults
        method = self.method or defaults.method or model.method
        work_size = resolved_work_size(self.work_size, defaults.work_size)
        if method == "adaattn" and model.adaattn is None:
            raise FlowstyleError("this model has no AdaAttN module; use method adain or wct")
        if n_styles < 1:
            raise FlowstyleError("give at least one style image")
        try:
            normalize_weights(self.style_weights, n_styles)
        except ValueError as exc:
            raise FlowstyleError(str(exc)) from None
        recipe = for_quality(defaults.recipe, self.quality, model.config.all_phases)
        if method != (defaults.method or model.method) and recipe.detail:
            # the model's detail lift was chosen for its default operator, whose patches carry the
            # style's marks; another operator's output would have mostly the photo's detail lifted
            recipe = dataclasses.replace(recipe, detail=0.0)
        recipe = recipe.merged(self.recipe)
        return dataclasses.replace(self, method=method, work_size=work_size, recipe=recipe.check_for(model.config.n_block))


def resolved_work_size(given: int | None, model_default: int | None) -> int:
    """The working size a call paints at: the caller's, else the model's, else WORK_SIZE."""
    return next(size for size in (given, model_default, WORK_SIZE) if size is not None)


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

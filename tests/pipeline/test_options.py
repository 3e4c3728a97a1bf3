"""StylizeOptions: checked once, frozen, the one source of the API's keywords and the CLI's flags."""

import argparse
import dataclasses

import numpy as np
import torch
import pytest

import flowstyle
from flowstyle.cli.args import add_fields, values
from flowstyle.cli.main import build_parser
from flowstyle.errors import FlowstyleError
from flowstyle.image.transforms import PAD_MODES
from flowstyle.models import QUALITIES, InferenceDefaults, Recipe
from flowstyle.operators import BLENDS, OPERATORS
from flowstyle.pipeline import StylizeOptions, Stylizer

from ..conftest import as_array


def test_defaults_and_frozen():
    o = StylizeOptions()
    assert (o.alpha, o.blend, o.pad, o.pad_mode, o.tile) == (1.0, "outputs", 32, "reflect", None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.alpha = 0.5  # type: ignore[misc]
    assert StylizeOptions(style_weights=[1, 2]).style_weights == (1.0, 2.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(alpha=1.5), "between 0 and 1"),
        (dict(alpha="x"), "finite number"),
        (dict(method="magic"), "unknown method"),
        (dict(blend="mix"), "unknown blend"),
        (dict(pad=-1), "pad must be >= 0"),
        (dict(pad_mode="wrap"), "unknown pad mode"),
        (dict(size=0), "size must be positive"),
        (dict(recipe=dict(phases=0)), "phases must be a positive whole number"),
        (dict(recipe=dict(gain=0)), "above 0"),
        (dict(recipe=dict(gain=9.0)), "at most"),
        (dict(recipe=dict(max_keys=0)), "max_keys must be a positive"),
        (dict(recipe=dict(colour=1)), "unknown recipe field"),
        (dict(recipe="phases=4"), "recipe must be a Recipe or a dict"),
        (dict(quality="best"), "unknown quality"),
        (dict(tile=-1), "tile must be"),
        (dict(tile=True), "tile must be"),
        (dict(style_weights="12"), "list of numbers"),
    ],
)
def test_bad_values_are_one_line_errors(kwargs, message):
    with pytest.raises(FlowstyleError, match=message):
        StylizeOptions(**kwargs)


def test_model_checks_and_defaults(tiny_model):
    with pytest.raises(FlowstyleError, match="AdaAttN"):
        StylizeOptions(method="adaattn").for_model(tiny_model, 1)
    with pytest.raises(FlowstyleError, match="phases must be 1, 2, 4 or 16"):
        StylizeOptions(recipe=dict(phases=3)).for_model(tiny_model, 1)
    with pytest.raises(FlowstyleError, match="style weights"):
        StylizeOptions(style_weights=[1]).for_model(tiny_model, 2)
    used = StylizeOptions().for_model(tiny_model, 1)
    assert (used.method, used.recipe) == ("adain", Recipe())
    assert used.for_model(tiny_model, 1) == used  # resolved options resolve to themselves


def test_keywords_and_options_give_the_same_image(tiny_model, photos):
    c, s = photos["astronaut"], photos["coffee"]
    by_keywords = flowstyle.stylize(c, s, tiny_model, alpha=0.5, pad=8, method="wct")
    options = StylizeOptions(alpha=0.5, pad=8, method="wct")
    by_options = flowstyle.stylize(c, s, tiny_model, options=options)
    replaced = Stylizer(tiny_model).stylize(c, s, StylizeOptions(alpha=0.5, pad=8), method="wct")
    assert np.array_equal(as_array(by_keywords), as_array(by_options))
    assert np.array_equal(as_array(by_keywords), as_array(replaced))
    with pytest.raises(TypeError):
        flowstyle.stylize(c, s, tiny_model, colour=1)


def test_tile_is_an_option_not_state(tiny_model, photos):
    stylizer = Stylizer(tiny_model)
    c, s = photos["astronaut"], photos["coffee"]
    whole = stylizer.stylize_tensor(c, s, pad=8, tile=0)
    banded = stylizer.stylize_tensor(c, s, pad=8, tile=16)
    assert (whole - banded).abs().max() < 1e-5
    assert not hasattr(stylizer, "_tile")


def test_every_option_is_a_cli_flag_with_registry_choices():
    parser = argparse.ArgumentParser()
    add_fields(parser, StylizeOptions)
    actions = {a.dest: a for a in parser._actions}
    for f in dataclasses.fields(StylizeOptions):
        assert (f.name in actions and actions[f.name].help) or f.name == "recipe", f.name  # recipe: add_recipe
    assert tuple(actions["quality"].choices) == QUALITIES
    assert tuple(actions["method"].choices) == OPERATORS
    assert tuple(actions["blend"].choices) == BLENDS
    assert tuple(actions["pad_mode"].choices) == PAD_MODES
    given = parser.parse_args(["--alpha", "0.25", "--style-weights", "1", "3"])
    assert StylizeOptions(**values(given, StylizeOptions)) == StylizeOptions(alpha=0.25, style_weights=(1, 3))


def test_a_new_field_becomes_a_flag_without_touching_the_cli():
    from flowstyle.fields import option

    @dataclasses.dataclass(frozen=True)
    class Extended(StylizeOptions):
        preserve_color: bool = option(False, "keep the content's colours")
        mask: str | None = option(None, "mask image", type=str)

    parser = argparse.ArgumentParser()
    add_fields(parser, Extended)
    args = parser.parse_args(["--preserve-color", "--mask", "m.png", "--alpha", "0.5"])
    assert Extended(**values(args, Extended)) == Extended(preserve_color=True, mask="m.png", alpha=0.5)


def test_stylize_subcommand_flags_come_from_the_options():
    parser = build_parser(["stylize"])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["stylize"]
    dests = {a.dest for a in sub._actions}
    assert {f.name for f in dataclasses.fields(StylizeOptions)} <= dests


def test_the_recipe_is_checked_wherever_it_is_set():
    with pytest.raises(FlowstyleError, match="gain"):
        Recipe(gain=0)
    with pytest.raises(FlowstyleError, match="precision"):
        InferenceDefaults(precision="fp8")
    with pytest.raises(FlowstyleError, match="anchor must be between 0 and 1"):
        Recipe(anchor=-0.5)
    with pytest.raises(FlowstyleError, match="anchor must be between 0 and 1"):
        StylizeOptions(recipe=dict(anchor=1.5))
    with pytest.raises(FlowstyleError, match="anchor stats"):
        Recipe(anchor_stats="gram")
    with pytest.raises(FlowstyleError, match="anchor near"):
        StylizeOptions(recipe=dict(anchor_near=20))
    with pytest.raises(FlowstyleError, match="phases must be 1, 2, 4 or 16"):
        Recipe(phases=8).check_for(2)
    with pytest.raises(FlowstyleError, match="unknown inference defaults"):
        InferenceDefaults.from_json('{"phases": 1, "colour": 2}')
    with pytest.raises(FlowstyleError, match="balance must be between 0 and 1"):
        StylizeOptions(recipe=dict(balance=1.5))
    assert "patches shared out 0" in str(Recipe(balance=0)) and "shared out" not in str(Recipe())
    for bad in (-1, 4.5, float("nan")):
        with pytest.raises(FlowstyleError, match="marks must be"):
            StylizeOptions(recipe=dict(marks=bad))
    assert "marks averaged" in str(Recipe(marks=0)) and "marks" not in str(Recipe())


def test_old_defaults_json_reads_into_the_recipe():
    """The shipped files' flat "defaults" JSON (the recipe's fields, method, precision) loads and
    writes back the same way; fields a file lacks take the plain recipe's values."""
    text = ('{"phases": 2, "deep_phases": 1, "gain": 1.0, "grid_filter": 1.0, "grid_filter_diagonal": 0.75, '
            '"anchor": 1.0, "anchor_stats": "covariance-tone", "anchor_near": 0.0, "method": null, "precision": "auto"}')
    d = InferenceDefaults.from_json(text)
    assert d.recipe == Recipe(phases=2, grid_filter=1.0, grid_filter_diagonal=0.75, anchor=1.0, anchor_stats="covariance-tone")
    assert (d.method, d.precision) == (None, "auto")
    assert InferenceDefaults.from_json(d.to_json()) == d
    assert InferenceDefaults.from_json('{"phases": 1, "gain": 1.0, "grid_filter": 2.0}').recipe == Recipe(grid_filter=2.0)
    for name in ("artflow-adain", "artflow-adaattn", "artflow-adaattn-1x16"):
        assert flowstyle.load_model(name).defaults.recipe.grid_filter > 0


def test_quality_maps_onto_the_models_phases_and_the_users_recipe_wins(tiny_model):
    import copy

    from flowstyle.models import StyleModel

    tuned = StyleModel(copy.deepcopy(tiny_model.flow), "adain",
                       defaults=InferenceDefaults(Recipe(phases=2, gain=1.3, grid_filter=2.0, grid_filter_diagonal=1.0)))
    recipe = lambda **o: StylizeOptions(**o).for_model(tuned, 1).recipe  # noqa: E731
    assert recipe() == tuned.defaults.recipe
    assert recipe(quality="fast") == Recipe(phases=1, gain=1.0, grid_filter=2.0, grid_filter_diagonal=1.0)
    assert recipe(quality="finest") == Recipe(phases=16)  # every phase: no grid left to filter
    assert recipe(quality="finest", recipe={"gain": 1.1}) == Recipe(phases=16, gain=1.1)
    assert recipe(recipe={"phases": 4}) == Recipe(phases=4, gain=1.3, grid_filter=2.0, grid_filter_diagonal=1.0)
    assert recipe(recipe=Recipe(phases=4)) == Recipe(phases=4)  # a whole Recipe replaces the model's
    assert recipe(recipe={"grid_filter_diagonal": None}).grid_filter_diagonal is None
    assert StylizeOptions(quality="fast").for_model(tiny_model, 1).recipe == Recipe()  # already one pass
    with pytest.raises(FlowstyleError, match="phases must be 1, 2 or 4 for this model, got 16"):
        StylizeOptions(recipe={"phases": 16, "deep_phases": 4}).for_model(tiny_model, 1)


def test_the_models_detail_lift_is_for_its_own_method(tiny_model):
    """A model's default lift was tuned on its default operator's output: another method starts
    without it, unless the call's recipe asks for it."""
    import copy

    from flowstyle.models import StyleModel

    lifted = StyleModel(copy.deepcopy(tiny_model.flow), "adain",
                        defaults=InferenceDefaults(Recipe(detail=1.0), method="patch"))
    detail = lambda **o: StylizeOptions(**o).for_model(lifted, 1).recipe.detail  # noqa: E731
    assert detail() == 1.0 and detail(method="patch") == 1.0
    assert detail(method="adain") == 0.0 and detail(method="wct") == 0.0
    assert detail(method="adain", recipe={"detail": 2}) == 2.0


def test_the_models_anchor_is_the_default_and_the_recipe_overrides_it(tiny_model, photos):
    import copy

    from flowstyle.models import StyleModel

    c, s = photos["astronaut"], photos["coffee"]
    plain = StyleModel(tiny_model.flow, "adaattn")
    anchored = StyleModel(copy.deepcopy(tiny_model.flow), "adaattn", adaattn=plain.adaattn,
                          defaults=InferenceDefaults(Recipe(anchor=1.0)))
    assert StylizeOptions().for_model(anchored, 1).recipe.anchor == 1.0
    assert StylizeOptions(recipe=dict(anchor=0)).for_model(anchored, 1).recipe.anchor == 0.0
    by_default = as_array(flowstyle.stylize(c, s, anchored, pad=8))
    assert np.array_equal(by_default, as_array(flowstyle.stylize(c, s, plain, pad=8, recipe=dict(anchor=1.0))))
    assert np.array_equal(as_array(flowstyle.stylize(c, s, anchored, pad=8, recipe=dict(anchor=0))),
                          as_array(flowstyle.stylize(c, s, plain, pad=8)))
    assert not np.array_equal(by_default, as_array(flowstyle.stylize(c, s, plain, pad=8)))
    by_cov = StyleModel(copy.deepcopy(tiny_model.flow), "adaattn", adaattn=plain.adaattn,
                        defaults=InferenceDefaults(Recipe(anchor=1.0, anchor_stats="covariance")))
    assert StylizeOptions().for_model(by_cov, 1).recipe.anchor_stats == "covariance"
    assert StylizeOptions(recipe=dict(anchor_stats="mean-std")).for_model(by_cov, 1).recipe.anchor_stats == "mean-std"
    cov_default = as_array(flowstyle.stylize(c, s, by_cov, pad=8))
    assert np.array_equal(cov_default, as_array(flowstyle.stylize(c, s, plain, pad=8, recipe=dict(anchor=1.0, anchor_stats="covariance"))))
    assert not np.array_equal(cov_default, by_default)
    near = StyleModel(copy.deepcopy(tiny_model.flow), "adaattn", adaattn=plain.adaattn,
                      defaults=InferenceDefaults(Recipe(anchor=1.0, anchor_stats="covariance", anchor_near=10.0)))
    assert StylizeOptions().for_model(near, 1).recipe.anchor_near == 10.0
    assert StylizeOptions(recipe=dict(anchor_near=0)).for_model(near, 1).recipe.anchor_near == 0.0
    near_default = as_array(flowstyle.stylize(c, s, near, pad=8))
    assert np.array_equal(near_default, as_array(flowstyle.stylize(c, s, by_cov, pad=8, recipe=dict(anchor_near=10.0))))
    assert np.array_equal(as_array(flowstyle.stylize(c, s, near, pad=8, recipe=dict(anchor_near=0))), cov_default)
    assert not np.array_equal(near_default, cov_default)


def _lattice_power(change: np.ndarray, period: int) -> float:
    """Share of the change's spectral power (luminance-free: all channels) on the period's lattice lines."""
    power = np.abs(np.fft.fft2(change - change.mean((-2, -1), keepdims=True))) ** 2
    h, w = change.shape[-2:]
    lines = np.zeros((h, w), bool)
    lines[[k * h // period for k in range(1, period)], :] = True
    lines[:, [k * w // period for k in range(1, period)]] = True
    return float(power[..., lines].sum() / power.sum())


def test_the_grid_filter_is_the_models_default_and_takes_the_lattice_out(tiny_model, photos):
    import copy

    from flowstyle.models import StyleModel

    c, s = photos["astronaut"], photos["coffee"]
    filtered = StyleModel(copy.deepcopy(tiny_model.flow), "adain", defaults=InferenceDefaults(Recipe(grid_filter=2.0)))
    assert StylizeOptions().for_model(filtered, 1).recipe.grid_filter == 2.0
    assert StylizeOptions(quality="finest").for_model(filtered, 1).recipe.grid_filter == 0.0  # no grid left
    assert StylizeOptions(recipe=dict(phases=16, grid_filter=3)).for_model(filtered, 1).recipe.grid_filter == 3.0
    assert StylizeOptions().for_model(tiny_model, 1).recipe.grid_filter == 0.0  # older files: off
    split = StyleModel(copy.deepcopy(tiny_model.flow), "adain", defaults=InferenceDefaults(Recipe(grid_filter=2.0, grid_filter_diagonal=1.0)))
    widths = lambda **o: (lambda r: (r.grid_filter, r.grid_filter_diagonal))(StylizeOptions(recipe=o).for_model(split, 1).recipe)  # noqa: E731
    assert widths() == (2.0, 1.0)  # the model's pair
    assert widths(grid_filter=3) == (3.0, 1.0)  # each field is the model's unless given
    assert widths(grid_filter=3, grid_filter_diagonal=None) == (3.0, None)  # None: the diagonal as grid_filter
    assert widths(grid_filter_diagonal=0.5) == (2.0, 0.5)
    with pytest.raises(FlowstyleError, match="diagonal grid filter must be between 0 and 16"):
        StylizeOptions(recipe=dict(grid_filter_diagonal=20))
    assert torch.equal(Stylizer(split).stylize_tensor(c, s, pad=8),
                       Stylizer(tiny_model).stylize_tensor(c, s, pad=8, recipe=dict(grid_filter=2.0, grid_filter_diagonal=1.0)))
    with pytest.raises(FlowstyleError, match="grid filter must be between 0 and 16"):
        StylizeOptions(recipe=dict(grid_filter=-1))
    with pytest.raises(FlowstyleError, match="grid filter must be between 0 and 16"):
        Recipe(grid_filter=20)
    by_default = Stylizer(filtered).stylize_tensor(c, s, pad=8)
    assert torch.equal(by_default, Stylizer(tiny_model).stylize_tensor(c, s, pad=8, recipe=dict(grid_filter=2.0)))
    plain = Stylizer(tiny_model).stylize_tensor(c, s, pad=8)
    content = Stylizer(tiny_model).stylize_tensor(c, s, pad=8, alpha=0.0)  # the flow's round trip
    before = _lattice_power((plain - content)[0].numpy(), 4)
    after = _lattice_power((by_default - content)[0].numpy(), 4)
    assert before > 0.02 and after < 0.2 * before  # measured: 0.052 -> 0.006


def test_deep_phases_are_a_recipe_path(tiny_model, photos):
    """A model whose recipe is one shallow pass with four deep phases: the path, its stored
    filter, and the user's recipe over it."""
    import copy

    from flowstyle.models import StyleModel

    c, s = photos["astronaut"], photos["coffee"]
    deep = StyleModel(copy.deepcopy(tiny_model.flow), "adain", defaults=InferenceDefaults(Recipe(phases=1, deep_phases=4, grid_filter=2.0)))
    used = StylizeOptions().for_model(deep, 1).recipe
    assert (used.phases, used.deep_phases, used.grid_filter) == (1, 4, 2.0)
    used = StylizeOptions(quality="finest").for_model(deep, 1).recipe  # every phase, whole passes, no filter
    assert (used.phases, used.deep_phases, used.grid_filter) == (16, 1, 0.0)
    used = StylizeOptions(quality="fast").for_model(deep, 1).recipe  # one whole pass
    assert (used.phases, used.deep_phases, used.grid_filter) == (1, 1, 2.0)
    used = StylizeOptions(recipe=dict(deep_phases=2)).for_model(deep, 1).recipe
    assert (used.phases, used.deep_phases, used.grid_filter) == (1, 2, 2.0)
    assert torch.equal(Stylizer(deep).stylize_tensor(c, s, pad=8),
                       Stylizer(tiny_model).stylize_tensor(c, s, pad=8, recipe=dict(deep_phases=4, grid_filter=2.0)))
    with pytest.raises(FlowstyleError, match="deep_phases must be 1, 2 or 4"):
        Recipe(deep_phases=3)
    with pytest.raises(FlowstyleError, match="deep_phases must be a positive"):
        StylizeOptions(recipe=dict(deep_phases=0))
    with pytest.raises(FlowstyleError, match="two or more blocks"):
        Recipe(deep_phases=4).check_for(1)
    with pytest.raises(FlowstyleError, match="phases must be 1, 2 or 4"):
        Recipe(phases=16, deep_phases=4).check_for(2)

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
from flowstyle.models import InferenceDefaults
from flowstyle.operators import BLENDS, OPERATORS
from flowstyle.pipeline import StylizeOptions, Stylizer

from ..conftest import as_array


def test_defaults_and_frozen():
    o = StylizeOptions()
    assert (o.alpha, o.blend, o.pad, o.pad_mode, o.tile) == (1.0, "outputs", 64, "reflect", None)
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
        (dict(phases=0), "phases must be positive"),
        (dict(gain=0), "above 0"),
        (dict(gain=9.0), "at most"),
        (dict(max_keys=0), "max_keys must be positive"),
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
        StylizeOptions(phases=3).for_model(tiny_model, 1)
    with pytest.raises(FlowstyleError, match="style weights"):
        StylizeOptions(style_weights=[1]).for_model(tiny_model, 2)
    used = StylizeOptions().for_model(tiny_model, 1)
    assert (used.method, used.phases, used.gain) == ("adain", 1, 1.0)


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
        assert f.name in actions and actions[f.name].help, f.name
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


def test_inference_defaults_are_checked():
    with pytest.raises(FlowstyleError, match="gain"):
        InferenceDefaults(gain=0)
    with pytest.raises(FlowstyleError, match="precision"):
        InferenceDefaults(precision="fp8")
    with pytest.raises(FlowstyleError, match="anchor"):
        InferenceDefaults(anchor=-0.5)
    with pytest.raises(FlowstyleError, match="anchor must be between 0 and 1"):
        StylizeOptions(anchor=1.5)
    with pytest.raises(FlowstyleError, match="anchor stats"):
        InferenceDefaults(anchor_stats="gram")
    with pytest.raises(FlowstyleError, match="anchor stats"):
        StylizeOptions(anchor_stats="gram")
    with pytest.raises(FlowstyleError, match="anchor near"):
        InferenceDefaults(anchor_near=-1)
    with pytest.raises(FlowstyleError, match="anchor near"):
        StylizeOptions(anchor_near=20)
    with pytest.raises(FlowstyleError, match="phases must be 1, 2, 4 or 16"):
        InferenceDefaults(phases=8).check_for(2)


def test_the_models_anchor_is_the_default_and_an_option_overrides_it(tiny_model, photos):
    import copy

    from flowstyle.models import StyleModel
    from flowstyle.models.defaults import InferenceDefaults

    c, s = photos["astronaut"], photos["coffee"]
    plain = StyleModel(tiny_model.flow, "adaattn")
    anchored = StyleModel(copy.deepcopy(tiny_model.flow), "adaattn", adaattn=plain.adaattn,
                          defaults=InferenceDefaults(anchor=1.0))
    assert StylizeOptions().for_model(anchored, 1).anchor == 1.0
    assert StylizeOptions(anchor=0).for_model(anchored, 1).anchor == 0.0
    by_default = as_array(flowstyle.stylize(c, s, anchored, pad=8))
    assert np.array_equal(by_default, as_array(flowstyle.stylize(c, s, plain, pad=8, anchor=1.0)))
    assert np.array_equal(as_array(flowstyle.stylize(c, s, anchored, pad=8, anchor=0)),
                          as_array(flowstyle.stylize(c, s, plain, pad=8)))
    assert not np.array_equal(by_default, as_array(flowstyle.stylize(c, s, plain, pad=8)))
    by_cov = StyleModel(copy.deepcopy(tiny_model.flow), "adaattn", adaattn=plain.adaattn,
                        defaults=InferenceDefaults(anchor=1.0, anchor_stats="covariance"))
    assert StylizeOptions().for_model(by_cov, 1).anchor_stats == "covariance"
    assert StylizeOptions(anchor_stats="mean-std").for_model(by_cov, 1).anchor_stats == "mean-std"
    cov_default = as_array(flowstyle.stylize(c, s, by_cov, pad=8))
    assert np.array_equal(cov_default, as_array(flowstyle.stylize(c, s, plain, pad=8, anchor=1.0, anchor_stats="covariance")))
    assert not np.array_equal(cov_default, by_default)
    near = StyleModel(copy.deepcopy(tiny_model.flow), "adaattn", adaattn=plain.adaattn,
                      defaults=InferenceDefaults(anchor=1.0, anchor_stats="covariance", anchor_near=10.0))
    assert StylizeOptions().for_model(near, 1).anchor_near == 10.0
    assert StylizeOptions(anchor_near=0).for_model(near, 1).anchor_near == 0.0
    near_default = as_array(flowstyle.stylize(c, s, near, pad=8))
    assert np.array_equal(near_default, as_array(flowstyle.stylize(c, s, by_cov, pad=8, anchor_near=10.0)))
    assert np.array_equal(as_array(flowstyle.stylize(c, s, near, pad=8, anchor_near=0)), cov_default)
    assert not np.array_equal(near_default, cov_default)


def _lattice_power(change: np.ndarray, period: int) -> float:
    """Share of the change's spectral power (luminance-free: all channels) on the period's lattice lines."""
    power = np.abs(np.fft.fft2(change - change.mean((-2, -1), keepdims=True))) ** 2
    h, w = change.shape[-2:]
    lines = np.zeros((h, w), bool)
    lines[[k * h // period for k in range(1, period)], :] = True
    lines[:, [k * w // period for k in range(1, period)]] = True
    return float(power[..., lines].sum() / power.sum())


def test_the_grid_filter_is_the_models_default_at_its_phases_and_takes_the_lattice_out(tiny_model, photos):
    import copy

    from flowstyle.models import StyleModel

    c, s = photos["astronaut"], photos["coffee"]
    filtered = StyleModel(copy.deepcopy(tiny_model.flow), "adain", defaults=InferenceDefaults(grid_filter=2.0))
    assert StylizeOptions().for_model(filtered, 1).grid_filter == 2.0
    assert StylizeOptions(phases=16).for_model(filtered, 1).grid_filter == 0.0  # chosen for 1 phase
    assert StylizeOptions(phases=16, grid_filter=3).for_model(filtered, 1).grid_filter == 3.0
    assert StylizeOptions().for_model(tiny_model, 1).grid_filter == 0.0  # older files: off
    split = StyleModel(copy.deepcopy(tiny_model.flow), "adain", defaults=InferenceDefaults(grid_filter=2.0, grid_filter_diagonal=1.0))
    widths = lambda **o: (lambda u: (u.grid_filter, u.grid_filter_diagonal))(StylizeOptions(**o).for_model(split, 1))  # noqa: E731
    assert widths() == (2.0, 1.0)  # the model's pair
    assert widths(grid_filter=3) == (3.0, 3.0)  # a width of one's own: the diagonal follows it
    assert widths(grid_filter_diagonal=0.5) == (2.0, 0.5)
    assert widths(phases=16) == (0.0, 0.0)  # the pair was chosen for the stored phases
    assert (lambda u: (u.grid_filter, u.grid_filter_diagonal))(StylizeOptions().for_model(filtered, 1)) == (2.0, 2.0)
    with pytest.raises(FlowstyleError, match="diagonal grid filter must be between 0 and 16"):
        StylizeOptions(grid_filter_diagonal=20)
    assert torch.equal(Stylizer(split).stylize_tensor(c, s, pad=8),
                       Stylizer(tiny_model).stylize_tensor(c, s, pad=8, grid_filter=2.0, grid_filter_diagonal=1.0))
    with pytest.raises(FlowstyleError, match="grid filter must be between 0 and 16"):
        StylizeOptions(grid_filter=-1)
    with pytest.raises(FlowstyleError, match="default grid filter"):
        InferenceDefaults(grid_filter=20)
    by_default = Stylizer(filtered).stylize_tensor(c, s, pad=8)
    assert torch.equal(by_default, Stylizer(tiny_model).stylize_tensor(c, s, pad=8, grid_filter=2.0))
    plain = Stylizer(tiny_model).stylize_tensor(c, s, pad=8)
    content = Stylizer(tiny_model).stylize_tensor(c, s, pad=8, alpha=0.0)  # the flow's round trip
    before = _lattice_power((plain - content)[0].numpy(), 4)
    after = _lattice_power((by_default - content)[0].numpy(), 4)
    assert before > 0.02 and after < 0.2 * before  # measured: 0.052 -> 0.006


def test_deep_phases_are_a_default_path_and_an_option(tiny_model, photos):
    """A model whose default path is one shallow pass with four deep phases: the path, its
    stored filter, and how phases and deep phases given alone override it."""
    import copy

    from flowstyle.models import StyleModel

    c, s = photos["astronaut"], photos["coffee"]
    deep = StyleModel(copy.deepcopy(tiny_model.flow), "adain", defaults=InferenceDefaults(phases=1, deep_phases=4, grid_filter=2.0))
    used = StylizeOptions().for_model(deep, 1)
    assert (used.phases, used.deep_phases, used.grid_filter) == (1, 4, 2.0)
    used = StylizeOptions(phases=16).for_model(deep, 1)  # phases alone: whole passes, no stored filter
    assert (used.phases, used.deep_phases, used.grid_filter) == (16, 1, 0.0)
    used = StylizeOptions(deep_phases=2).for_model(deep, 1)  # another deep count: one shallow pass
    assert (used.phases, used.deep_phases, used.grid_filter) == (1, 2, 0.0)
    used = StylizeOptions(deep_phases=4).for_model(tiny_model, 1)
    assert (used.phases, used.deep_phases) == (1, 4)
    assert torch.equal(Stylizer(deep).stylize_tensor(c, s, pad=8),
                       Stylizer(tiny_model).stylize_tensor(c, s, pad=8, phases=1, deep_phases=4, grid_filter=2.0))
    with pytest.raises(FlowstyleError, match="phases must be 1, 2 or 4 for this model, got 16"):
        StylizeOptions(phases=16, deep_phases=4).for_model(tiny_model, 1)
    with pytest.raises(FlowstyleError, match="default deep phases must be 1, 2 or 4"):
        InferenceDefaults(deep_phases=3)
    with pytest.raises(FlowstyleError, match="deep_phases must be positive"):
        StylizeOptions(deep_phases=0)
    with pytest.raises(FlowstyleError, match="two or more blocks"):
        InferenceDefaults(deep_phases=4).check_for(1)
    with pytest.raises(FlowstyleError, match="phases must be 1, 2 or 4"):
        InferenceDefaults(phases=16, deep_phases=4).check_for(2)

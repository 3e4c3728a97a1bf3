"""research.paint_knobs: `base` is the default path itself, a knob changes the path only while it
is set, and unknown knobs are refused."""

import pytest
import torch

from flowstyle.image.io import load_tensor
from flowstyle.operators import patch as patch_module
from flowstyle.operators import registry
from flowstyle.pipeline import stylizer as stylizer_module
from flowstyle.pipeline.stylizer import Stylizer
from flowstyle.operators.patch import DECORATOR_MATCH_DIMS, patch_swap
from research.paint_knobs import knobs_set, parse_variant, spread_swap


def test_variants_parse_into_knobs_and_unknown_ones_are_refused():
    assert parse_variant("base") == {}
    assert parse_variant("mix=1,work=256,hm=1") == {"mix": 1.0, "work": 256.0, "hm": 1.0}
    with pytest.raises(SystemExit):
        parse_variant("sharpness=2")


def test_no_knob_is_the_default_path_and_knobs_are_undone(tiny_model, photos):
    stylizer = Stylizer(tiny_model)
    x = load_tensor(photos["astronaut"])[..., :48, :64]
    style = load_tensor(photos["coffee"])[..., :48, :48]
    options = dict(method="patch", work_size=32, pad=8)
    default = stylizer.stylize_tensor(x, [style], **options)
    before = (registry.style_decorator, stylizer_module.guided_upsample)
    with knobs_set({}):
        assert torch.equal(stylizer.stylize_tensor(x, [style], **options), default)
    with knobs_set({"mix": 1.0, "hm": 1.0, "radius": 2, "spread": 0.2}):
        changed = stylizer.stylize_tensor(x, [style], **options)
    assert (registry.style_decorator, stylizer_module.guided_upsample) == before
    assert changed.shape == default.shape and not torch.equal(changed, default)
    assert torch.equal(stylizer.stylize_tensor(x, [style], **options), default)
    candidates = patch_module.BALANCE_CANDIDATES
    with knobs_set({"candidates": 3}):  # `balance` is a recipe knob: the recipe reaches the wrapper
        assert patch_module.BALANCE_CANDIDATES == 3
        shared_out = stylizer.stylize_tensor(x, [style], **options, recipe=dict(balance=1.0))
    assert patch_module.BALANCE_CANDIDATES == candidates
    assert not torch.equal(shared_out, default)


def test_spread_without_a_handicap_is_the_patch_search():
    z_c, z_s = torch.randn(1, 48, 20, 24), torch.randn(1, 48, 18, 18)
    plain = patch_swap(z_c, z_s, match_dims=DECORATOR_MATCH_DIMS)
    assert torch.equal(spread_swap(z_c, z_s, 3, 0.0, rounds=1), plain)
    assert not torch.equal(spread_swap(z_c, z_s, 3, 0.5), plain)

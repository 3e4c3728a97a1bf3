"""Phase plans and the nested phase averaging (flow/phases.py)."""

import pytest
import torch

from flowstyle import Stylizer
from flowstyle.errors import FlowstyleError
from flowstyle.image.transforms import pad as pad_image
from flowstyle.flow.phases import average_over_phases, deepest_block_plan, phase_plan


def test_plans():
    assert [(lv.start, lv.stop, len(lv.shifts)) for lv in phase_plan(1, 2)] == [(0, 2, 1)]
    assert [(lv.start, lv.stop, len(lv.shifts)) for lv in phase_plan(4, 2)] == [(0, 2, 4)]
    assert [(lv.start, lv.stop, len(lv.shifts)) for lv in phase_plan(16, 2)] == [(0, 1, 4), (1, 2, 4)]
    assert [(lv.start, lv.stop, len(lv.shifts)) for lv in phase_plan(4, 1)] == [(0, 1, 4)]  # all = one level
    with pytest.raises(FlowstyleError, match="phases must be"):
        phase_plan(8, 2)
    # deep phases: the blocks above for `phases` pixel shifts, the deepest for its own phases
    assert [(lv.start, lv.stop, lv.shifts) for lv in phase_plan(1, 2, 4)] == [(0, 1, ((0, 0),)), (1, 2, ((0, 0), (0, 1), (1, 0), (1, 1)))]
    assert [(lv.start, lv.stop, len(lv.shifts)) for lv in phase_plan(2, 2, 2)] == [(0, 1, 2), (1, 2, 2)]
    assert phase_plan(4, 2, 4) == phase_plan(16, 2)  # the nested all-phase plan is 4 x 4
    assert deepest_block_plan(4, 2) == phase_plan(1, 2, 4) and deepest_block_plan(4, 1) == phase_plan(4, 1)
    with pytest.raises(FlowstyleError, match="two or more blocks"):
        phase_plan(1, 1, 4)
    with pytest.raises(FlowstyleError, match="phases must be 1, 2 or 4 for this model, got 16"):
        phase_plan(16, 2, 4)  # with deep phases, the shallower block has four phases
    with pytest.raises(FlowstyleError, match="phases must be"):
        phase_plan(1, 2, 3)


def _flow_calls(model):
    flow = model.flow
    return (lambda t, a, b: flow.encode_blocks(t, a, b)), (lambda z, a, b: flow.decode_blocks(z, a, b))


def test_nested_plan_visits_every_pixel_shift_once_and_inverts(tiny_model, photos):
    x = Stylizer(tiny_model)  # loads nothing new; keeps the model in eval mode
    img = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    encode, decode = _flow_calls(x.model)
    seen = []
    with torch.inference_mode():
        out = average_over_phases(img, phase_plan(16, 2), encode, decode, lambda z, s: seen.append(s) or z, "reflect")
    assert sorted(seen) == [(dy, dx) for dy in range(4) for dx in range(4)]
    assert out.shape == img.shape
    assert (out - img).abs().max() < 1e-5  # every phase decodes its own encoding: the average is x


def test_nested_latents_match_whole_flow_passes_in_the_interior(tiny_model):
    """The latent the nested plan hands over for shift s is the whole flow's latent of the image
    shifted by s px (away from the borders, where the padding differs): masks use that shift."""
    img = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(1))
    encode, decode = _flow_calls(tiny_model)
    latents = {}
    with torch.inference_mode():
        average_over_phases(img, phase_plan(16, 2), encode, decode,
                            lambda z, s: latents.update({s: z.clone()}) or z,
                            "reflect")
        for (dy, dx), z in latents.items():
            whole = tiny_model.flow.encode(pad_image(img, dx, (4 - dx) % 4, dy, (4 - dy) % 4, "reflect"))
            assert whole.shape == z.shape
            inner = (..., slice(10, -10), slice(10, -10))
            assert (whole[inner] - z[inner]).abs().max() < 1e-4


def test_all_phases_cost_less_than_one_pass_each(tiny_model, photos, monkeypatch):
    """16 phases run block 1 four times (not 16) and block 2 sixteen times, each way."""
    stylizer = Stylizer(tiny_model)
    calls = []
    original = stylizer._encode
    monkeypatch.setattr(stylizer, "_encode", lambda x, tile, *blocks, **kw: calls.append(blocks) or original(x, tile, *blocks, **kw))
    stylizer.stylize(photos["astronaut"], photos["coffee"], pad=8, recipe=dict(phases=16))
    assert calls.count((0, 1)) == 4 and calls.count((1, 2)) == 16


def test_deep_phases_run_block_1_once_and_visit_the_deep_lattice(tiny_model, photos, monkeypatch):
    """--phases 1 --deep-phases 4: block 1 once, block 2 four times each way; every shift of
    block 2's lattice (0 or 2 px in each direction) is visited once."""
    stylizer = Stylizer(tiny_model)
    calls = []
    original = stylizer._encode
    monkeypatch.setattr(stylizer, "_encode", lambda x, tile, *blocks, **kw: calls.append(blocks) or original(x, tile, *blocks, **kw))
    seen = []
    img = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(2))
    encode, decode = _flow_calls(stylizer.model)
    with torch.inference_mode():
        out = average_over_phases(img, phase_plan(1, 2, 4), encode, decode, lambda z, s: seen.append(s) or z, "reflect")
    assert sorted(seen) == [(0, 0), (0, 2), (2, 0), (2, 2)]
    assert (out - img).abs().max() < 1e-5
    stylizer.stylize(photos["astronaut"], photos["coffee"], pad=8, recipe=dict(phases=1, deep_phases=4))
    assert calls.count((0, 1)) == 1 and calls.count((1, 2)) == 4


@pytest.mark.parametrize("phases, deep", [(4, 1), (16, 1), (1, 4)])
def test_tiled_phase_averaging_equals_whole(tiny_model, photos, phases, deep):
    stylizer = Stylizer(tiny_model)
    whole = stylizer.stylize_tensor(photos["astronaut"], photos["coffee"], pad=8, recipe=dict(phases=phases, deep_phases=deep), size=96)
    banded = stylizer.stylize_tensor(photos["astronaut"], photos["coffee"], pad=8, recipe=dict(phases=phases, deep_phases=deep), size=96, tile=16)
    assert (whole - banded).abs().max() < 1e-5

"""Detail matching: the output's fine detail lifted towards the style's contrast, never down."""

from __future__ import annotations

import pytest
import torch

from flowstyle.errors import FlowstyleError
from flowstyle.image.detail import MAX_DETAIL, detail_band, detail_contrast, detail_gain, match_detail
from flowstyle.image.io import load_tensor
from flowstyle.image.transforms import resize_longest
from flowstyle.models.recipe import Recipe
from flowstyle.pipeline import Stylizer
from flowstyle.pipeline.regions import region_weights


def _soft(seed: int = 0, h: int = 48, w: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, h // 8, w // 8, generator=g)
    return torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)


def _crisp(h: int = 48, w: int = 64, period: int = 6) -> torch.Tensor:
    lines = ((torch.arange(w) % period) < period // 2).float().expand(1, 3, h, w)
    return 0.2 + 0.6 * lines  # a line drawing: high contrast at a stroke's scale


def test_the_gain_is_the_contrast_ratio_minus_one_within_the_strength():
    assert detail_gain(1.0, 1.5, 2.0) == pytest.approx(0.5)
    assert detail_gain(1.0, 9.0, 2.0) == 2.0
    assert detail_gain(1.0, 0.5, 2.0) == 0.0  # a smoother style never softens the output
    assert detail_gain(0.0, 1.0, 2.0) == 0.0  # a flat output has no detail to lift


def test_a_soft_output_gains_its_own_detail_band_towards_a_crisp_style():
    soft, crisp = _soft(), _crisp()
    own, target = detail_contrast(soft), detail_contrast(crisp)
    assert target > 3 * own
    out = match_detail(soft, [crisp], [1.0], 2.0)
    assert torch.allclose(out - soft, 2.0 * detail_band(soft), atol=1e-6)  # capped at 2 extra
    assert detail_contrast(out) > 1.5 * own
    assert torch.allclose(out.mean((2, 3)), soft.mean((2, 3)), atol=1e-3)  # the colours stay


def test_a_smooth_style_or_zero_strength_leaves_the_output_as_it_is():
    crisp, soft = _crisp(), _soft()
    assert match_detail(crisp, [soft], [1.0], MAX_DETAIL) is crisp
    assert match_detail(soft, [crisp], [1.0], 0.0) is soft


def test_several_styles_lift_by_their_weighted_gains():
    soft, crisp, flat = _soft(), _crisp(), torch.full((1, 3, 48, 64), 0.5)
    out = match_detail(soft, [crisp, flat], [0.25, 0.75], 1.0)
    assert torch.allclose(out - soft, 0.25 * detail_band(soft), atol=1e-6)  # crisp: 1 (capped); flat: 0


def test_with_a_mask_each_region_takes_its_own_styles_lift():
    soft, crisp = _soft(), _crisp()
    mask = torch.zeros(48, 64, dtype=torch.uint8)
    mask[:, 32:] = 1
    regions = region_weights(mask, 2, 48, 64)
    out = match_detail(soft, [soft, crisp], [0.5, 0.5], 1.0, regions)
    lift = out - soft
    assert torch.equal(lift[..., :32], torch.zeros_like(lift[..., :32]))  # its own style: no lift
    assert torch.allclose(lift[..., 32:], detail_band(soft)[..., 32:], atol=1e-6)


def test_the_recipe_bounds_the_lift():
    assert Recipe(detail=2).detail == 2.0 and "detail lift up to 2" in str(Recipe(detail=2))
    for bad in (-1, MAX_DETAIL + 1, "2"):
        with pytest.raises(FlowstyleError, match="detail"):
            Recipe(detail=bad)


def test_the_pipeline_lifts_once_at_the_photos_full_size(tiny_model, photos):
    """Painted small and carried up, the lift runs once on the carried result, with the style at
    the scale its marks have there; a lift of 0 is the plain path."""
    stylizer = Stylizer(tiny_model, precision="float32")
    photo, style = load_tensor(photos["chelsea"]), _crisp(64, 64)
    plain = stylizer.stylize_tensor(photo, style, pad=8, work_size=32)
    assert torch.equal(plain, stylizer.stylize_tensor(photo, style, pad=8, work_size=32, recipe={"detail": 0}))
    lifted = stylizer.stylize_tensor(photo, style, pad=8, work_size=32, recipe={"detail": 1.5})
    expected = match_detail(plain, [resize_longest(style, 64)], [1.0], 1.5).clamp(0, 1)
    assert torch.allclose(lifted, expected, atol=1e-5)
    assert detail_contrast(lifted) > detail_contrast(plain)
    whole = stylizer.stylize_tensor(photo, style, pad=8, work_size=0, recipe={"detail": 1.5})
    unlifted = stylizer.stylize_tensor(photo, style, pad=8, work_size=0)
    assert torch.allclose(whole, match_detail(unlifted, [resize_longest(style, 64)], [1.0], 1.5).clamp(0, 1), atol=1e-5)

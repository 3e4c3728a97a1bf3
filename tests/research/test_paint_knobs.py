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
from research.paint_knobs import knobs_set, parse_variant, restore_detail, restore_energy, spread_swap


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
    candidates, rounds = patch_module.BALANCE_CANDIDATES, patch_module.BALANCE_ROUNDS
    with knobs_set({"candidates": 3, "rounds": 2}):  # `balance` is a recipe knob: the recipe reaches the wrapper
        assert (patch_module.BALANCE_CANDIDATES, patch_module.BALANCE_ROUNDS) == (3, 2)
        shared_out = stylizer.stylize_tensor(x, [style], **options, recipe=dict(balance=1.0))
    assert (patch_module.BALANCE_CANDIDATES, patch_module.BALANCE_ROUNDS) == (candidates, rounds)
    assert not torch.equal(shared_out, default)


def test_spread_without_a_handicap_is_the_patch_search():
    z_c, z_s = torch.randn(1, 48, 20, 24), torch.randn(1, 48, 18, 18)
    plain = patch_swap(z_c, z_s, match_dims=DECORATOR_MATCH_DIMS)
    assert torch.equal(spread_swap(z_c, z_s, 3, 0.0, rounds=1), plain)
    assert not torch.equal(spread_swap(z_c, z_s, 3, 0.5), plain)


def test_energy_lifts_each_channel_towards_the_styles_deviation_and_never_lowers_it():
    z = torch.randn(1, 4, 16, 16) * torch.tensor([0.5, 1.0, 2.0, 0.25]).view(1, 4, 1, 1) + 3.0
    z_s = torch.randn(1, 4, 12, 12)
    std = lambda t: t.std(dim=(-2, -1)).flatten()
    lifted = restore_energy(z, z_s, 1.0)
    target = torch.maximum(std(z), std(z_s))
    assert torch.allclose(std(lifted), target, rtol=1e-4)
    assert torch.allclose(lifted.mean(dim=(-2, -1)), z.mean(dim=(-2, -1)), atol=1e-4)  # the tones stay
    half = std(restore_energy(z, z_s, 0.5))
    assert bool(((half >= std(z) - 1e-5) & (half <= target + 1e-5)).all())
    assert torch.allclose(restore_energy(z, z_s, 0.0), z, atol=1e-6)
    local = restore_detail(z, z_s, 1.0) - z  # the detail only: a flat latent is left as it is
    flat = torch.full((1, 4, 16, 16), 2.0)
    assert torch.allclose(restore_detail(flat, z_s, 1.0), flat) and local.abs().sum() > 0


def test_keep_carries_the_painted_marks_up_where_the_photo_is_flat():
    # a flat photo gives the guided fit nothing to follow: it averages the marks away, and `keep=1`
    # puts them back, so the carried result is the small result upsampled
    from flowstyle.image.transforms import resize_longest

    photo = torch.full((1, 3, 96, 128), 0.5)
    small = resize_longest(photo, 48)
    g = torch.Generator().manual_seed(3)
    painted = (0.5 + 0.3 * torch.randn(1, 3, *small.shape[-2:], generator=g)).clamp(0, 1)
    with knobs_set({}):
        plain = stylizer_module.guided_upsample(painted, small, photo)
    with knobs_set({"keep": 1.0}):
        kept = stylizer_module.guided_upsample(painted, small, photo)
    bilinear = torch.nn.functional.interpolate(painted, size=photo.shape[-2:], mode="bilinear", align_corners=False)
    assert torch.allclose(kept, bilinear, atol=1e-5)
    assert float(plain.std()) < 0.5 * float(kept.std())

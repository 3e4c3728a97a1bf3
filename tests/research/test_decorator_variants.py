"""research.decorator_variants: its default row is the patch operator's own pass; the rank map
gives each channel the reference's values."""

import torch

from flowstyle.image.io import load_tensor
from flowstyle.image.transforms import center_crop_to_multiple, pad_to_multiple
from flowstyle.operators import style_decorator
from research.decorator_variants import PAD, Variants, quantile_match


def test_quantile_match_keeps_the_order_and_takes_the_references_values():
    z = torch.randn(1, 3, 6, 5)
    ref = torch.rand(1, 3, 4, 4) * 4 + 2
    out = quantile_match(z, ref)
    for ch in range(3):
        assert torch.equal(out[0, ch].flatten().argsort(), z[0, ch].flatten().argsort())
        assert out[0, ch].min() == ref[0, ch].min() and out[0, ch].max() == ref[0, ch].max()
    assert torch.allclose(quantile_match(ref, ref), ref)


def test_the_base_variant_is_the_decorator_pass_and_every_variant_stays_in_range(tiny_model, photos):
    flow, m = tiny_model.flow, tiny_model.config.multiple
    x = load_tensor(photos["astronaut"])[..., :32, :48]
    style = load_tensor(photos["coffee"])[..., :40, :40]
    variants = Variants(flow, m)
    with torch.inference_mode():
        z_c = flow.encode(pad_to_multiple(x, PAD, m, "reflect"))
        z_s = flow.encode(center_crop_to_multiple(style, m))
        expected = flow.decode(style_decorator(z_c, z_s))[..., PAD : PAD + 32, PAD : PAD + 48].clamp(0, 1)
        assert torch.equal(variants.run("base", x, style), expected)
        for name in ("mix1", "keys20", "hm", "iter", "c2f"):
            out = variants.run(name, x, style)
            assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1

"""research.decorator_variants: its default row is the patch operator's own pass."""

import torch

from flowstyle.image.io import load_tensor
from flowstyle.image.transforms import center_crop_to_multiple, pad_to_multiple
from flowstyle.operators import style_decorator
from research.decorator_variants import PAD, Variants


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

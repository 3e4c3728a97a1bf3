"""research.small_photos: its variants are the pipeline's paths at the sizes they name, and
`detail` adds back exactly what enlarging and reducing the photo took from it."""

import torch

from flowstyle.image.io import load_tensor
from flowstyle.image.transforms import resize_longest, resize_to
from flowstyle.pipeline.stylizer import Stylizer
from research.small_photos import small_photo_variants


def test_the_variants_are_the_pipelines_paths_and_detail_adds_the_photos_own(tiny_model, photos):
    stylizer = Stylizer(tiny_model)
    photo = load_tensor(photos["astronaut"])[..., :48, :64]
    style = load_tensor(photos["coffee"])
    variants = small_photo_variants(stylizer, work_size=96)
    outs = {name: variant(photo, style) for name, variant in variants.items()}  # in order: detail after enlarged
    assert torch.equal(outs["own"], stylizer.stylize_tensor(photo, [style]))  # a small photo's default path
    assert torch.equal(outs["own-style"], stylizer.stylize_tensor(photo, [style], style_size=96))
    big = resize_longest(photo, 96)
    assert torch.equal(outs["enlarged"], resize_to(stylizer.stylize_tensor(big, [style]), photo.shape[-2:]))
    assert all(out.shape == photo.shape for out in outs.values())
    lost = photo - resize_to(big, photo.shape[-2:])
    inside = (outs["detail"] > 0) & (outs["detail"] < 1)
    assert lost.abs().max() > 0.05
    assert torch.allclose((outs["detail"] - outs["enlarged"])[inside], lost[inside], atol=1e-5)

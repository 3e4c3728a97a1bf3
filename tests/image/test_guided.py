"""Guided upsampling: a result computed small, carried to full size with the photo as the guide."""

from __future__ import annotations

import torch

from flowstyle.image.color import luminance
from flowstyle.image.guided import guided_upsample
from flowstyle.image.transforms import resize_longest


def _photo(seed: int = 0, h: int = 96, w: int = 128) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    smooth = torch.nn.functional.interpolate(torch.rand(1, 3, h // 8, w // 8, generator=g), size=(h, w), mode="bilinear")
    edges = (torch.arange(w) % 24 < 12).float().expand(1, 3, h, w)  # sharp stripes the small copy blurs
    return (0.6 * smooth + 0.4 * edges).clamp(0, 1)


def test_a_map_of_the_luminance_is_carried_exactly_to_full_size():
    photo = _photo()
    small = resize_longest(photo, 64)
    gains, offsets = torch.tensor([0.5, -0.3, 0.9]), torch.tensor([0.2, 0.8, 0.05])
    painted = (gains.view(1, 3, 1, 1) * luminance(small)[:, None] + offsets.view(1, 3, 1, 1)).clamp(0, 1)
    expected = (gains.view(1, 3, 1, 1) * luminance(photo)[:, None] + offsets.view(1, 3, 1, 1)).clamp(0, 1)
    out = guided_upsample(painted, small, photo)
    assert out.shape == photo.shape
    assert float((out - expected).abs().mean()) < 5e-3  # about 1/255: eps damps flat windows
    # the full-size stripes survive, where plain upsampling of the small result blurs them
    plain = torch.nn.functional.interpolate(painted, size=photo.shape[-2:], mode="bilinear")
    assert float((out - expected).abs().mean()) < 0.5 * float((plain - expected).abs().mean())


def test_output_stays_in_range_and_follows_the_small_result():
    photo = _photo(1)
    small = resize_longest(photo, 48)
    painted = torch.rand(1, 3, *small.shape[-2:], generator=torch.Generator().manual_seed(2))
    out = guided_upsample(painted, small, photo)
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
    back = resize_longest(out, 48)
    blurred = torch.nn.functional.avg_pool2d(painted, 5, 1, 2, count_include_pad=False)
    assert float((back - blurred).abs().mean()) < float((back - painted.mean()).abs().mean())

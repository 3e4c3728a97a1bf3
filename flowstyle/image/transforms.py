"""Image geometry on (B, 3, H, W) tensors: resize to a longest side, pad, crop to a multiple.

The flow needs sides that are multiples of 2**n_block: content is padded up to one (and
cropped back afterwards), styles are centre-cropped down to one.
"""

from __future__ import annotations

from torch import Tensor
from torch.nn import functional as F

from ..errors import FlowstyleError

PAD_MODES = ("reflect", "zeros")


def resize_longest(x: Tensor, size: int | None) -> Tensor:
    """Resize (1, 3, H, W) so the longest side is `size` (aspect kept, antialiased)."""
    if size is None:
        return x
    if size < 1:
        raise FlowstyleError(f"size must be positive, got {size}")
    h, w = x.shape[-2:]
    scale = size / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    if (new_h, new_w) == (h, w):
        return x
    out = F.interpolate(x, size=(new_h, new_w), mode="bicubic", antialias=True, align_corners=False)
    return out.clamp(0, 1)


def pad(x: Tensor, left: int, right: int, top: int, bottom: int, mode: str) -> Tensor:
    if not (left or right or top or bottom):
        return x
    if mode == "zeros":
        return F.pad(x, (left, right, top, bottom), mode="constant", value=0.0)
    # reflect needs pad < side; repeat in steps for pads larger than the image
    while left or right or top or bottom:
        h, w = x.shape[-2:]
        step = [min(left, w - 1), min(right, w - 1), min(top, h - 1), min(bottom, h - 1)]
        if not any(step):
            return F.pad(x, (left, right, top, bottom), mode="replicate")
        x = F.pad(x, tuple(step), mode="reflect")
        left, right, top, bottom = (a - b for a, b in zip((left, right, top, bottom), step))
    return x


def pad_to_multiple(x: Tensor, border: int, multiple: int, mode: str) -> Tensor:
    """Pad `border` px on every side, plus what the right and bottom need to reach a multiple."""
    h, w = x.shape[-2:]
    return pad(x, border, border + (-(w + 2 * border)) % multiple, border, border + (-(h + 2 * border)) % multiple, mode)


def center_crop_to_multiple(x: Tensor, multiple: int) -> Tensor:
    """The centred window whose sides are the largest multiples of `multiple` that fit."""
    h, w = x.shape[-2:]
    top, left = (h % multiple) // 2, (w % multiple) // 2
    return x[..., top : top + h - h % multiple, left : left + w - w % multiple]

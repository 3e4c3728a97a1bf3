"""Image geometry on (B, 3, H, W) tensors: resize to a longest side, pad, crop to a multiple,
and the squeeze-phase shifts.

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
    return resize_to(x, (max(1, round(h * scale)), max(1, round(w * scale))))


def resize_to(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize (1, 3, H, W) to `size` = (height, width): bicubic, antialiased when shrinking."""
    if tuple(size) == tuple(x.shape[-2:]):
        return x
    out = F.interpolate(x, size=tuple(size), mode="bicubic", antialias=True, align_corners=False)
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


def phase_shifts(phases: int, multiple: int) -> list[tuple[int, int]]:
    """Squeeze phases to average over: 1 (none), 2 (diagonal), 4 ({0,1}^2) or all multiple^2.

    Each squeeze groups pixels in a fixed 2x2 lattice; a shifted input lands on another lattice
    phase, and averaging the decoded outputs over phases cancels the periodic grid pattern.
    """
    full = multiple * multiple
    if phases == 1:
        return [(0, 0)]
    if phases == 2:
        return [(0, 0), (1, 1)]
    if phases == 4:
        return [(dy, dx) for dy in (0, 1) for dx in (0, 1)]
    if phases == full:
        return [(dy, dx) for dy in range(multiple) for dx in range(multiple)]
    allowed = sorted({1, 2, 4, full})
    raise FlowstyleError(f"phases must be {', '.join(map(str, allowed[:-1]))} or {allowed[-1]} for this model, got {phases}")

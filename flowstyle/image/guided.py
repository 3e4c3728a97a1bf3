"""Guided upsampling: a stylization computed on a small copy of the photo, carried to the photo's
full size with the photo itself as the guide (He & Sun's fast guided filter).

In every small window the small result is fitted as a linear function of the small photo's
luminance, out = a * luma + b, per colour channel; a and b vary slowly, so they are upsampled
smoothly and applied to the full-size luminance. The result keeps the photo's full-resolution
edges and the style's colours and strokes at the working scale, at the cost of a few box
filters instead of a flow pass over every pixel.
"""

from __future__ import annotations

from torch import Tensor
from torch.nn import functional as F

from .color import luminance

RADIUS = 1  # px at the working size: the window over which a and b are fitted (small: the strokes stay sharp)
EPS = 1e-4  # regularises a in flat windows (luminance in [0, 1]): smaller follows edges harder


def _box(x: Tensor, radius: int) -> Tensor:
    """Mean over a (2r+1)^2 window, the window shrunk at the borders."""
    return F.avg_pool2d(x, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)


def guided_upsample(
    small_out: Tensor, small_photo: Tensor, photo: Tensor, radius: int = RADIUS, eps: float = EPS
) -> Tensor:
    """(1, 3, h, w) result on (1, 3, h, w) photo -> (1, 3, H, W) result on the (1, 3, H, W) photo."""
    guide = luminance(small_photo)[:, None]  # (1, 1, h, w)
    mean_g = _box(guide, radius)
    var_g = _box(guide * guide, radius) - mean_g * mean_g
    mean_o = _box(small_out, radius)
    cov = _box(guide * small_out, radius) - mean_g * mean_o
    a = cov / (var_g + eps)
    b = mean_o - a * mean_g
    a, b = _box(a, radius), _box(b, radius)  # each pixel's mean over the windows that contain it
    size = photo.shape[-2:]
    a = F.interpolate(a, size=size, mode="bilinear", align_corners=False)
    b = F.interpolate(b, size=size, mode="bilinear", align_corners=False)
    return (a * luminance(photo)[:, None] + b).clamp(0, 1)

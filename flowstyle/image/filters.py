"""Gaussian blur of image tensors: region masks feather their edges with it, detail matching
splits an image into its smooth part and its fine detail with it."""

from __future__ import annotations

import math

from torch import Tensor
from torch.nn import functional as F

from .transforms import pad as pad_image


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """(B, C, H, W) blurred channel by channel by a Gaussian of `sigma` px, edges reflected."""
    radius = max(1, math.ceil(3 * sigma))
    t = x.new_tensor(range(-radius, radius + 1))
    kernel = (-0.5 * (t / sigma) ** 2).exp()
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    x = pad_image(x, radius, radius, radius, radius, "reflect")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)

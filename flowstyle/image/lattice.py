"""The squeeze grid filtered out of the style change: grid-free at the cost of one flow pass.

Every squeeze puts each latent channel at one position of a 2x2 cell, so a change to the latent
decodes to a pattern that repeats with the squeeze lattice: period P = 2**blocks px for one flow
pass (docs/grid.md). Averaging 4**blocks phase-shifted passes cancels it, at that many passes'
cost. This filter cancels it at almost none: from each pixel's change (output - content) it takes
the local mean of the change over the pixels of the *same lattice phase* (x = x0 mod P,
y = y0 mod P) and adds back the local mean over *all* pixels (both Gaussian-weighted, sigma px).
An offset between the phases that is smooth over sigma - the grid - cancels; anything that does
not repeat with period P passes, since its two local means agree. In frequency terms it is a
Gaussian notch (standard deviation 1 / (2 pi sigma) cycles per px) at every lattice frequency
k/P but 0: a larger sigma keeps more of the style's fine texture near those frequencies and
leaves more grid where the content changes quickly.

Only the change is filtered: the content's own detail at those frequencies stays. Near the
image edge both means are taken over the pixels that exist (normalised convolution), so the
filter needs no padding of its own. It runs in row bands (each with the filter's reach of
extra rows, so the result is the same as for the whole image), so that a large image needs one
extra copy of itself, not five.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import FlowstyleError

MAX_GRID_FILTER = 16.0  # px; a wider filter's notches are so narrow that they leave the grid
BAND_ROWS = 256  # rows filtered at a time


def checked_grid_filter(value: object, name: str = "grid filter") -> float:
    """`value` as the filter width in px (0 = off); one check for the model file and the options."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0.0 <= value <= MAX_GRID_FILTER:
        raise FlowstyleError(f"{name} must be between 0 and {MAX_GRID_FILTER:g} px, got {value!r}")
    return float(value)


def _gaussian_taps(period: int, sigma: float) -> tuple[Tensor, Tensor]:
    """1-D taps: the Gaussian, and the Gaussian kept only at offsets that are multiples of period."""
    radius = -(-int(3 * sigma) // period) * period  # a multiple of the period: the comb stays centred
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    gauss = torch.exp(-(offsets**2) / (2 * sigma**2))
    same_phase = gauss * (offsets.remainder(period) == 0)
    return gauss.float(), same_phase.float()


def _local_mean(x: Tensor, taps: Tensor) -> Tensor:
    """Separable weighted mean of x (B, C, H, W) with `taps` along both axes, over existing pixels."""
    k = taps.numel()
    channels = x.shape[1]
    rows = taps.view(1, 1, 1, k).expand(channels, 1, 1, k).to(x)
    cols = taps.view(1, 1, k, 1).expand(channels, 1, k, 1).to(x)

    def smooth(t: Tensor, groups: int) -> Tensor:
        t = F.conv2d(t, rows[:groups], padding=(0, k // 2), groups=groups)
        return F.conv2d(t, cols[:groups], padding=(k // 2, 0), groups=groups)

    weight = smooth(torch.ones_like(x[:1, :1]), 1)
    return smooth(x, channels) / weight


def remove_lattice(out: Tensor, content: Tensor, period: int, sigma: float, band_rows: int = BAND_ROWS) -> Tensor:
    """`out` with the period-`period` lattice of its change from `content` filtered out.

    out, content: (B, C, H, W), same shape, in the same pixel grid (the lattice's origin does not
    matter: the filter is shift-invariant). sigma: the local means' Gaussian, in px; 0 returns
    `out` unchanged. The result is not clamped to the image range. band_rows: rows filtered at a
    time (memory only; the result does not depend on it).
    """
    if out.shape != content.shape:
        raise ValueError(f"out and content differ in shape: {tuple(out.shape)} vs {tuple(content.shape)}")
    if checked_grid_filter(sigma) == 0 or period < 2:
        return out
    gauss, same_phase = _gaussian_taps(period, sigma)
    reach = gauss.numel() // 2
    height = out.shape[-2]
    result = torch.empty_like(out)
    for top in range(0, height, band_rows):
        bottom = min(top + band_rows, height)
        lo, hi = max(top - reach, 0), min(bottom + reach, height)
        band = out[..., lo:hi, :].float()
        change = band - content[..., lo:hi, :].float()
        lattice = _local_mean(change, same_phase) - _local_mean(change, gauss)
        result[..., top:bottom, :] = (band - lattice)[..., top - lo : bottom - lo, :]
    return result

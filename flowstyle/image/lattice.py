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


def _phase_means(change: Tensor, y: Tensor, x: Tensor, period: int, sigma: float) -> dict[tuple[int, int], Tensor]:
    """Per lattice phase (y mod period, x mod period; y, x: each row's and column's phase): the
    local mean of `change` over that phase's pixels, everywhere (Gaussian sigma px, normalised at
    the edge)."""
    gauss, _ = _gaussian_taps(period, sigma)
    means = {}
    for cy in range(period):
        for cx in range(period):
            mask = ((y == cy) & (x == cx)).to(change).expand_as(change[:1, :1])
            means[cy, cx] = _local_mean(change * mask, gauss) / _local_mean(mask, gauss)
    return means


def _lattice_part(change: Tensor, period: int, sigma: float, diagonal_sigma: float) -> Tensor:
    """The slowly varying part of `change` at the lattice frequencies k/period but 0.

    With one width: the local mean over the pixel's own phase minus the local mean over all (the
    comb and the Gaussian taps; a few separable passes). With two: the local means of every phase
    m_c, split by frequency. The frequencies that are not 0 along either axis (diagonal; for
    period 2 the checkerboard) take from the pixel of phase c the sum over phases c' of
    (d(dy) - 1/P)(d(dx) - 1/P) m_c' (d: 1 at 0, else 0; (dy, dx) = c - c' mod P); all of them
    together take d(c - c') - 1/P^2, i.e. m_c minus the mean of the m_c'; the stripes, the rest."""
    gauss, comb = _gaussian_taps(period, sigma)
    if diagonal_sigma == sigma:
        return _local_mean(change, comb) - _local_mean(change, gauss)
    h, w = change.shape[-2:]
    y = torch.arange(h, device=change.device).view(h, 1) % period
    x = torch.arange(w, device=change.device).view(1, w) % period
    part = torch.zeros_like(change)
    for width, diagonal in ((sigma, False), (diagonal_sigma, True)):
        if width == 0:
            continue
        for (cy, cx), mean in _phase_means(change, y, x, period, width).items():
            dy = ((y - cy) % period == 0).to(change)
            dx = ((x - cx) % period == 0).to(change)
            weight = (dy - 1 / period) * (dx - 1 / period)
            if not diagonal:
                weight = dy * dx - 1 / period**2 - weight
            part += weight * mean
    return part


def remove_lattice(
    out: Tensor, content: Tensor, period: int, sigma: float, band_rows: int = BAND_ROWS, diagonal_sigma: float | None = None
) -> Tensor:
    """`out` with the period-`period` lattice of its change from `content` filtered out.

    out, content: (B, C, H, W), same shape, in the same pixel grid (the lattice's origin does not
    matter: the filter is shift-invariant). sigma: the local means' Gaussian, in px; 0 returns
    `out` unchanged. diagonal_sigma: the width for the lattice frequencies that are not 0 along
    either axis (for period 2, the checkerboard), if other than sigma; it can be narrower where a
    phase average has already cancelled the stripes (docs/grid.md). The result
    is not clamped to the image range. band_rows: rows filtered at a time (memory only; the result
    does not depend on it).
    """
    if out.shape != content.shape:
        raise ValueError(f"out and content differ in shape: {tuple(out.shape)} vs {tuple(content.shape)}")
    sigma = checked_grid_filter(sigma)
    diagonal_sigma = sigma if diagonal_sigma is None else checked_grid_filter(diagonal_sigma, "diagonal grid filter")
    if (sigma == 0 and diagonal_sigma == 0) or period < 2:
        return out
    reach = max(_gaussian_taps(period, width)[0].numel() for width in (sigma, diagonal_sigma) if width) // 2
    height = out.shape[-2]
    result = torch.empty_like(out)
    for top in range(0, height, band_rows):
        bottom = min(top + band_rows, height)
        lo, hi = max(top - reach, 0), min(bottom + reach, height)
        band = out[..., lo:hi, :].float()
        lattice = _lattice_part(band - content[..., lo:hi, :].float(), period, sigma, diagonal_sigma)
        result[..., top:bottom, :] = (band - lattice)[..., top - lo : bottom - lo, :]
    return result

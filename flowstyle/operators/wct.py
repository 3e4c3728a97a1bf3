"""WCT: the content latent given the style's channel covariance (parameter-free), and the
one-dimensional tone transport along the style's main axis that the anchor can add."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from .stats import EPS, _mean_cov, _sym_power


def wct(z_c: Tensor, z_s: Tensor, eps: float = EPS, weight: Tensor | None = None) -> Tensor:
    """Whitening and colouring transform: give z_c the channel covariance of z_s.

    Symmetric (ZCA) whitening in float64 with a diagonal regulariser `eps`, so a constant
    image or a one-colour style gives finite output. weight: a soft region mask of z_c (see
    `mean_std`): whiten with the region's own mean and covariance.
    """
    return _apply_wct(z_c, *_wct_maps(z_c, z_s, eps, weight))


def _wct_maps(z_c: Tensor, z_s: Tensor, eps: float, weight: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
    """(content mean, colour @ whiten, style mean) in float64: WCT is z -> map @ (z - m_c) + m_s."""
    mean_c, cov_c = _mean_cov(z_c, eps, weight)
    mean_s, cov_s = _mean_cov(z_s, eps)
    return mean_c, _sym_power(cov_s, 0.5, eps) @ _sym_power(cov_c, -0.5, eps), mean_s


def _apply_wct(z: Tensor, mean_c: Tensor, linear: Tensor, mean_s: Tensor) -> Tensor:
    out = linear @ (z.flatten(2).double() - mean_c) + mean_s
    return out.view(z.shape).to(z.dtype)


TONE_WIDTH = 0.02  # content positions this close on the tone axis (in its std) share one target


def tone_curve(z: Tensor, z_s: Tensor, weight: Tensor | None = None, width: float = TONE_WIDTH) -> Tensor:
    """z given the style's distribution along the style's top principal axis (its main tone:
    mostly brightness), by a one-dimensional optimal transport; the other directions are left.

    Moment matching (AdaIN, WCT) maps Gaussians to Gaussians. Clip art and drawings are mostly
    paper plus some ink: a linear map sends the content's paper wherever the style's mean and
    spread put it, grey when the style's ink is dark (the test's fire stamp x grapes stamp).
    Transport sends the content's brightest positions to the style's brightest. Each position
    takes the mean of the exact transport's targets over the positions within `width` axis stds
    of its own, so that a flat background's noise (near-equal values) cannot spread it over the
    style's quantiles; on every other axis such a map would turn that noise into speckle (a rank
    map on all axes failed the clip-art gate, docs/generalisation.md).
    weight: a soft region mask of z; quantiles and means then count each position by its weight.
    The correction is a constant for the gradient (straight through), like the WCT maps.
    """
    b, c, h, w = z.shape
    with torch.no_grad():
        _, cov_s = _mean_cov(z_s, 0.0)
        axis = torch.linalg.eigh(cov_s).eigenvectors[..., -1:].to(torch.float32)  # (B_s, C, 1)
        along = axis.transpose(1, 2) @ z.flatten(2).float()  # (B, 1, N)
        style = (axis.transpose(1, 2) @ z_s.flatten(2).float()).sort(2).values.expand(b, -1, -1)
        n, m = along.shape[2], style.shape[2]
        ordered, order = along.sort(2)
        mass = torch.ones_like(along) if weight is None else weight.flatten(2).float().expand(b, 1, -1).gather(2, order)
        cumulative = mass.cumsum(2)
        quantile = (cumulative - 0.5 * mass) / cumulative[..., -1:].clamp_min(1e-12)
        position = (quantile * m - 0.5).clamp(0, m - 1)
        low = position.floor().long()
        high = (low + 1).clamp(max=m - 1)
        frac = position - low
        target = style.gather(2, low) * (1 - frac) + style.gather(2, high) * frac  # in content order
        delta = width * along.std(2, keepdim=True)
        left = torch.searchsorted(ordered, ordered - delta, side="left")  # sort outputs are contiguous
        right = torch.searchsorted(ordered, ordered + delta, side="right")
        sums = F.pad((mass.double() * target.double()).cumsum(2), (1, 0))
        masses = F.pad(mass.double().cumsum(2), (1, 0))
        window = (masses.gather(2, right) - masses.gather(2, left)).clamp_min(1e-12)
        smooth = ((sums.gather(2, right) - sums.gather(2, left)) / window).float()
        mapped = torch.empty_like(along).scatter_(2, order, smooth)
        correction = (axis @ (mapped - along)).view(b, c, h, w).to(z.dtype)
    return z + correction

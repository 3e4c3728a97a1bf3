"""AdaIN: the content latent given the style's channel means and stds (parameter-free)."""

from __future__ import annotations

from torch import Tensor

from .stats import EPS, mean_std, normalize


def adain(z_c: Tensor, z_s: Tensor, eps: float = EPS, weight: Tensor | None = None) -> Tensor:
    """Adaptive instance normalisation: give z_c the channel means and stds of z_s.

    weight: a soft region mask of z_c (see `mean_std`); the content statistics are then the
    region's, so the region (not the whole latent) gets the style's statistics.
    """
    mean_s, std_s = mean_std(z_s, eps)
    if weight is None:
        return normalize(z_c, eps) * std_s + mean_s
    mean_c, std_c = mean_std(z_c, eps, weight)
    return (z_c - mean_c) / std_c * std_s + mean_s

"""Colour spaces and colour preservation on (B, 3, H, W) RGB tensors in [0, 1].

Two ways to keep the content's colours while taking a style's structure and texture
(Gatys et al. 2016, "Preserving color in neural artistic style transfer"):

- luminance-only transfer: stylize the grey (CIELAB lightness) content with the grey style, then
  `keep_luminance`: the output's lightness with the content's chroma (a*, b*) put back.
- `match_color`: before the transfer, give the style image the content's RGB colour mean and
  covariance (an affine map per pixel), so the style brings no colours of its own.

docs/artist_features.md compares them by measurement; the pipeline's `preserve_color` is the
luminance-only transfer, the better there (it keeps the style; `match_color` loses most of it).

`luminance` is the BT.601 luma that the grid index, the metrics and the video motion estimate use.
"""

from __future__ import annotations

import torch
from torch import Tensor

LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as PIL's "L" conversion


def luminance(images: Tensor) -> Tensor:
    """(B, 3, H, W) RGB -> (B, H, W) luminance (BT.601 weights)."""
    return (images * images.new_tensor(LUMA).view(1, 3, 1, 1)).sum(1)


# sRGB (D65) -> XYZ, and the D65 white point: the constants scikit-image uses.
_RGB_TO_XYZ = torch.tensor([
    [0.412453, 0.357580, 0.180423],
    [0.212671, 0.715160, 0.072169],
    [0.019334, 0.119193, 0.950227],
], dtype=torch.float64)
_WHITE = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)
_DELTA = 6.0 / 29.0


def _channels(matrix: Tensor, x: Tensor) -> Tensor:
    return torch.einsum("ij,bjhw->bihw", matrix.to(x), x)


def _srgb_to_linear(x: Tensor) -> Tensor:
    return torch.where(x > 0.04045, ((x.clamp_min(0) + 0.055) / 1.055) ** 2.4, x / 12.92)


def _linear_to_srgb(x: Tensor) -> Tensor:
    return torch.where(x > 0.0031308, 1.055 * x.clamp_min(0) ** (1 / 2.4) - 0.055, x * 12.92)


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB in [0, 1] -> CIELAB (D65): L in [0, 100], a and b about [-128, 127]."""
    xyz = _channels(_RGB_TO_XYZ, _srgb_to_linear(rgb)) / _WHITE.to(rgb).view(1, 3, 1, 1)
    f = torch.where(xyz > _DELTA**3, xyz.clamp_min(1e-12) ** (1 / 3), xyz / (3 * _DELTA**2) + 4 / 29)
    fx, fy, fz = f.unbind(1)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], 1)


def lab_to_rgb(lab: Tensor) -> Tensor:
    """CIELAB (D65) -> sRGB, clamped to [0, 1] (colours outside the sRGB gamut are clipped)."""
    L, a, b = lab.unbind(1)
    fy = (L + 16) / 116
    f = torch.stack([fy + a / 500, fy, fy - b / 200], 1)
    xyz = torch.where(f > _DELTA, f**3, 3 * _DELTA**2 * (f - 4 / 29)) * _WHITE.to(lab).view(1, 3, 1, 1)
    rgb = _channels(torch.linalg.inv(_RGB_TO_XYZ), xyz)
    return _linear_to_srgb(rgb).clamp(0, 1)


def keep_luminance(stylized: Tensor, content: Tensor) -> Tensor:
    """The stylized image's CIELAB lightness with the content's chroma (a*, b*); same sizes."""
    if stylized.shape != content.shape:
        raise ValueError(f"keep_luminance needs same-size images, got {tuple(stylized.shape)} and {tuple(content.shape)}")
    lab = rgb_to_lab(content.double())
    lab[:, 0] = rgb_to_lab(stylized.double())[:, 0]
    return lab_to_rgb(lab).to(stylized.dtype)


def _mean_cov(x: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    flat = x.flatten(2)
    mean = flat.mean(2, keepdim=True)
    centred = flat - mean
    cov = centred @ centred.transpose(1, 2) / flat.shape[2]
    return mean, cov + eps * torch.eye(3, dtype=x.dtype, device=x.device)


def _sym_sqrt(cov: Tensor, power: float) -> Tensor:
    evals, evecs = torch.linalg.eigh(cov)
    return evecs @ torch.diag_embed(evals.clamp_min(1e-12) ** power) @ evecs.transpose(-1, -2)


def match_color(style: Tensor, content: Tensor, eps: float = 1e-5) -> Tensor:
    """The style image with the content's RGB colour mean and covariance (any sizes).

    x -> C_c^1/2 C_s^-1/2 (x - mu_s) + mu_c per pixel (the symmetric "image analogies" colour
    transfer), in float64, clamped to [0, 1].
    """
    s, c = style.double(), content.double()
    mean_s, cov_s = _mean_cov(s, eps)
    mean_c, cov_c = _mean_cov(c, eps)
    transform = _sym_sqrt(cov_c, 0.5) @ _sym_sqrt(cov_s, -0.5)
    out = transform @ (s.flatten(2) - mean_s) + mean_c
    return out.view_as(s).clamp(0, 1).to(style.dtype)


def grey(rgb: Tensor) -> Tensor:
    """CIELAB lightness as a neutral grey RGB image (the chroma set to zero)."""
    lab = rgb_to_lab(rgb.double())
    lab[:, 1:] = 0
    return lab_to_rgb(lab).to(rgb.dtype)

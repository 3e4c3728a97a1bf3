"""Shared statistics of flow latents: per-channel mean/std, normalisation, covariance and its
matrix powers, value distributions matched rank for rank, seeded subsets of positions (every
operator uses some of these)."""

from __future__ import annotations

import torch
from torch import Tensor

EPS = 1e-5


def mean_std(z: Tensor, eps: float = EPS, weight: Tensor | None = None, unbiased: bool = False) -> tuple[Tensor, Tensor]:
    """Per-sample, per-channel mean and std = sqrt(var + eps) over positions, shaped (B, C, 1, 1).

    weight: (B or 1, 1, H, W) non-negative position weights (a soft region mask): the
    statistics of that region only, each position counted by its weight.
    unbiased: the sample variance (n - 1), as the AdaIN and ArtFlow reference code computes
    it for the VGG style losses (`calc_mean_std`), so their loss values match; the operators
    use the population variance.
    """
    if weight is None:
        flat = z.flatten(2)
        if unbiased:
            var, mean = torch.var_mean(flat, dim=2, unbiased=True)
        else:
            mean = flat.mean(2)
            var = flat.var(2, unbiased=False)
        return mean[..., None, None], torch.sqrt(var + eps)[..., None, None]
    if unbiased:
        raise ValueError("unbiased statistics are not defined for weighted positions")
    w = weight.to(z.dtype)
    total = w.sum((2, 3), keepdim=True)
    mean = (w * z).sum((2, 3), keepdim=True) / total
    var = (w * (z - mean) ** 2).sum((2, 3), keepdim=True) / total
    return mean, torch.sqrt(var + eps)


def quantile_match(z: Tensor, ref: Tensor) -> Tensor:
    """Each channel of `z` (B, C, H, W) given `ref`'s distribution of values (B, C, h, w), rank for
    rank: `z`'s order of values, `ref`'s histogram (interpolated between its sorted values).
    Computed in float32 (bf16 cannot count ranks past 256)."""
    src = z.flatten(2).float()
    levels = ref.flatten(2).float().sort(dim=-1).values.expand(src.shape[0], -1, -1)
    count = src.shape[-1]
    counting = torch.arange(count, dtype=src.dtype, device=src.device).expand_as(src)
    ranks = torch.empty_like(src).scatter_(-1, src.argsort(dim=-1), counting)
    at = ranks / max(count - 1, 1) * (levels.shape[-1] - 1)
    low = at.floor().long()
    high = (low + 1).clamp_max(levels.shape[-1] - 1)
    frac = at - low
    return (levels.gather(-1, low) * (1 - frac) + levels.gather(-1, high) * frac).view_as(z).to(z.dtype)


def normalize(z: Tensor, eps: float = EPS) -> Tensor:
    """Mean-variance normalisation per channel (zero mean, unit std)."""
    mean, std = mean_std(z, eps)
    return (z - mean) / std


def _sym_power(cov: Tensor, power: float, eps: float) -> Tensor:
    """cov**power for a batch of symmetric PSD matrices (float64, eigenvalues floored at eps)."""
    evals, evecs = torch.linalg.eigh(cov)
    evals = evals.clamp_min(eps) ** power
    return evecs @ torch.diag_embed(evals) @ evecs.transpose(-1, -2)


def _mean_cov(z: Tensor, reg: float, weight: Tensor | None = None) -> tuple[Tensor, Tensor]:
    flat = z.flatten(2).double()
    if weight is None:
        mean = flat.mean(2, keepdim=True)
        centred = flat - mean
        cov = centred @ centred.transpose(1, 2) / flat.shape[2]
    else:
        w = weight.flatten(2).double()  # (B or 1, 1, N)
        total = w.sum(2, keepdim=True)
        mean = (w * flat).sum(2, keepdim=True) / total
        centred = flat - mean
        cov = (w * centred) @ centred.transpose(1, 2) / total
    eye = torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device)
    return mean, cov + reg * eye


def _sample_keys(n: int, max_keys: int | None, seed: int, device: torch.device) -> Tensor | None:
    if max_keys is None or max_keys >= n:
        return None
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=generator)[:max_keys].sort().values.to(device)

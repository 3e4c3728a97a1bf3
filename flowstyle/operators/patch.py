"""The patch operator: Avatar-Net's style decorator (style swap) on flow latents."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from .stats import EPS, _sample_keys, normalize

PATCH_FOLDS = ("mean", "centre")


def _style_patches(z_s: Tensor, patch: int, max_patches: int | None, seed: int) -> tuple[Tensor, Tensor]:
    """(raw, unit) style patches of one latent (1, C, H, W): (C*k*k, N) each; `unit` are the
    per-channel normalised patches scaled to unit length (for normalised cross-correlation)."""
    raw = F.unfold(z_s, patch)[0]  # whole patches only: no padding invented in the style
    unit = F.unfold(normalize(z_s), patch)[0]
    keep = _sample_keys(raw.shape[1], max_patches, seed, z_s.device)
    if keep is not None:
        raw, unit = raw[:, keep], unit[:, keep]
    return raw, unit / unit.norm(dim=0, keepdim=True).clamp_min(EPS)


def _principal_axes(vectors: Tensor, dims: int) -> Tensor:
    """(D, N) column vectors -> (D, dims): the leading eigenvectors of their second moment."""
    moment = (vectors.double() @ vectors.double().T) / vectors.shape[1]
    _, eigvecs = torch.linalg.eigh(moment)  # ascending eigenvalues
    return eigvecs[:, -dims:].to(vectors.dtype)


def patch_swap(
    z_c: Tensor,
    z_s: Tensor,
    patch: int = 3,
    fold: str = "mean",
    max_patches: int | None = None,
    seed: int = 0,
    chunk: int = 2048,
    match_dims: int | None = None,
) -> Tensor:
    """Avatar-Net's style decorator (Chen & Schmidt's style swap) on flow latents.

    Every content position takes the style patch (k x k latent positions, i.e. 4k x 4k pixels
    of a two-block flow) whose per-channel normalised values correlate best with the content's
    own normalised patch there; the chosen raw style patches are folded back. The output is
    made of the style's own latent values, so it carries its strokes and patterns and decodes
    inside the range the style itself decodes to. fold "mean" averages the k*k overlapping
    patches (smooth), "centre" takes each chosen patch's middle (sharp, less coherent).
    Memory is bounded: the correlation is computed `chunk` content positions at a time.
    max_patches: opt-in random subset of style patches (seeded), a speed knob.
    match_dims: compare patches in this many principal components of the style's unit patches
    instead of all C*k*k values (the correlation's cost shrinks in proportion; the style's
    patches vary along far fewer directions than they have values); None compares them all.
    """
    if patch < 1 or patch % 2 == 0:
        raise ValueError(f"patch must be an odd positive number, got {patch}")
    if fold not in PATCH_FOLDS:
        raise ValueError(f"fold must be one of {PATCH_FOLDS}, got {fold!r}")
    b, c, h, w = z_c.shape
    if z_s.shape[-2] < patch or z_s.shape[-1] < patch:
        raise ValueError(f"the style latent is smaller than one {patch}x{patch} patch")
    r = patch // 2
    outs = []
    for i in range(b):
        raw, unit = _style_patches(z_s[i : i + 1].float(), patch, max_patches, seed)
        query = normalize(z_c[i : i + 1].float())
        if r:
            mode = "reflect" if min(h, w) > r else "replicate"
            query = F.pad(query, (r, r, r, r), mode=mode)
        query = F.unfold(query, patch)[0]  # (C*k*k, h*w)
        if match_dims is not None and match_dims < unit.shape[0]:
            basis = _principal_axes(unit, match_dims)  # (C*k*k, d)
            unit, query = basis.T @ unit, basis.T @ query
        best = torch.cat([
            (query[:, j : j + chunk].T @ unit).argmax(dim=1) for j in range(0, query.shape[1], chunk)
        ])
        chosen = raw[:, best]  # (C*k*k, h*w)
        if fold == "centre" or patch == 1:
            out = chosen.view(c, patch * patch, h, w)[:, patch * patch // 2]
        else:
            size = (h + 2 * r, w + 2 * r)
            total = F.fold(chosen[None], size, patch)
            count = F.fold(torch.ones_like(chosen[None]), size, patch)
            out = (total / count)[0, :, r : r + h, r : r + w]
        outs.append(out)
    return torch.stack(outs).to(z_c.dtype)


DECORATOR_PATCH = 3  # latent positions a side: 12 px with two blocks, 6 px with one
DECORATOR_MIX = 0.8  # share of the swapped style patches; the rest is the photo's own latent


def style_decorator(
    z_c: Tensor,
    z_s: Tensor,
    patch: int = DECORATOR_PATCH,
    mix: float = DECORATOR_MIX,
    max_patches: int | None = None,
    seed: int = 0,
) -> Tensor:
    """The patch operator: the content rebuilt from the style's own latent patches
    (`patch_swap`), with a share of the photo's own latent, which carries the fine shading and
    edges that no patch of another image has.

    Not re-coloured afterwards: rescaling each latent channel to the style's deviation (AdaIN)
    ignores how the channels move together, and decodes out of [0, 1] (blown-out pixels) even
    when every value came from the style; the swapped patches already carry its palette.
    Mixing with the photo's latent instead of a global transfer (WCT) keeps the result in range,
    since both ends decode inside it (docs/generalisation.md)."""
    swapped = patch_swap(z_c, z_s, patch=patch, max_patches=max_patches, seed=seed)
    if mix >= 1.0:
        return swapped
    return mix * swapped + (1.0 - mix) * z_c

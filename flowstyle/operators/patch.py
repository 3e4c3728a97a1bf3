"""The patch operator: Avatar-Net's style decorator (style swap) on flow latents."""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as F

from ..image.filters import gaussian_blur
from .stats import EPS, _sample_keys, normalize, quantile_match

PATCH_FOLDS = ("mean", "centre")
# scores computed at a time in the patch search: 4 MB of float32, so that each block of scores is
# still in the cache when its best match is taken (the search is bound by memory, not arithmetic)
SCORE_BLOCK = 1 << 20


def _style_patches(
    z_s: Tensor, patch: int, max_patches: int | None, seed: int, scale: int = 1, marks: float = 0.0
) -> tuple[Tensor, Tensor | None, Tensor]:
    """(raw, fine, unit) style patches of one latent (1, C, H, W): `raw` (C*(k*scale)**2, N) are
    the latent's own blocks, `unit` (C*k*k, N) the same blocks seen at 1/scale resolution,
    per-channel normalised and scaled to unit length (for normalised cross-correlation).
    With `marks` (a blur in latent positions) `raw` holds the blocks of the latent's coarse band
    and `fine` (C*scale*scale, N) the middle of each block of its fine band; else `fine` is None."""
    h, w = z_s.shape[-2] // scale * scale, z_s.shape[-1] // scale * scale
    z_s = z_s[..., :h, :w]
    k = patch * scale
    coarse = gaussian_blur(z_s, marks) if marks > 0 else z_s
    raw = F.unfold(coarse, k, stride=scale)[0]  # whole patches only: no padding invented
    fine = None
    if marks > 0:
        middle = (patch // 2) * scale
        rows, cols = (h - k) // scale + 1, (w - k) // scale + 1
        fine = (z_s - coarse)[..., middle : middle + rows * scale, middle : middle + cols * scale]
        fine = F.unfold(fine, scale, stride=scale)[0]
    unit = F.unfold(normalize(_pool(z_s, scale)), patch)[0]
    keep = _sample_keys(raw.shape[1], max_patches, seed, z_s.device)
    if keep is not None:
        raw, unit = raw[:, keep], unit[:, keep]
        fine = None if fine is None else fine[:, keep]
    return raw, fine, unit / unit.norm(dim=0, keepdim=True).clamp_min(EPS)


def _pool(z: Tensor, scale: int) -> Tensor:
    return F.avg_pool2d(z, scale) if scale > 1 else z


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
    chunk: int | None = None,
    match_dims: int | None = None,
    scale: int = 1,
    balance: float = 0.0,
    marks: float = 0.0,
) -> Tensor:
    """Avatar-Net's style decorator (Chen & Schmidt's style swap) on flow latents.

    Every content position takes the style patch (k x k latent positions, i.e. 4k x 4k pixels
    of a two-block flow) whose per-channel normalised values correlate best with the content's
    own normalised patch there; the chosen raw style patches are folded back. The output is
    made of the style's own latent values, so it carries its strokes and patterns and decodes
    inside the range the style itself decodes to. fold "mean" averages the k*k overlapping
    patches (smooth), "centre" takes each chosen patch's middle (sharp, less coherent).
    Memory is bounded: the correlation is computed `chunk` content positions at a time (None:
    as many as keep SCORE_BLOCK scores; the result does not depend on it).
    max_patches: opt-in random subset of style patches (seeded), a speed knob.
    match_dims: compare patches in this many principal components of the style's unit patches
    instead of all C*k*k values (the correlation's cost shrinks in proportion; the style's
    patches vary along far fewer directions than they have values); None compares them all.
    scale: match patches on latents average-pooled by this factor, then copy the style's
    full-resolution blocks (k*scale positions a side, placed every `scale` positions): strokes
    and patterns `scale` times larger, and a search scale**4 times cheaper.
    balance: how strongly the style's patches are shared out (`balanced_choice`); 0 takes each
    position's best match, however often that patch is taken elsewhere.
    marks (fold "mean"): the style latent split by a Gaussian blur of this many positions; its
    coarse band's blocks are averaged where they overlap, its fine band (the marks) comes whole
    from each position's own match, not as the mean of misaligned ones, which blurs strokes away.
    Seams between neighbouring blocks then carry only the style's own marks: a smooth style's fine
    band is about 0, so it gets no blocks. 0: every band averaged.
    """
    if patch < 1 or patch % 2 == 0:
        raise ValueError(f"patch must be an odd positive number, got {patch}")
    if fold not in PATCH_FOLDS:
        raise ValueError(f"fold must be one of {PATCH_FOLDS}, got {fold!r}")
    if marks < 0:
        raise ValueError(f"marks must be >= 0, got {marks}")
    marks = marks if fold == "mean" and patch > 1 else 0.0
    b, c, h, w = z_c.shape
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    if z_s.shape[-2] < patch * scale or z_s.shape[-1] < patch * scale:
        raise ValueError(f"the style latent is smaller than one {patch * scale}x{patch * scale} patch")
    r = patch // 2
    hp, wp = -(-h // scale) * scale, -(-w // scale) * scale  # content grown to whole coarse cells
    outs = []
    for i in range(b):
        raw, fine, unit = _style_patches(z_s[i : i + 1].float(), patch, max_patches, seed, scale, marks)
        content = z_c[i : i + 1].float()
        if (hp, wp) != (h, w):
            content = F.pad(content, (0, wp - w, 0, hp - h), mode="replicate")
        query = normalize(_pool(content, scale))
        hc, wc = query.shape[-2:]
        if r:
            mode = "reflect" if min(hc, wc) > r else "replicate"
            query = F.pad(query, (r, r, r, r), mode=mode)
        query = F.unfold(query, patch)[0]  # (C*k*k, h*w)
        best = best_matches(query, unit, match_dims, balance, chunk)
        chosen = raw[:, best]  # (C*(k*scale)**2, hc*wc)
        if fold == "centre" or patch == 1:  # each (coarse) cell takes its match's middle block whole
            k = patch * scale
            blocks = chosen.view(c, k, k, -1)[:, r * scale : (r + 1) * scale, r * scale : (r + 1) * scale]
            total = F.fold(blocks.reshape(1, c * scale * scale, -1), (hp, wp), scale, stride=scale)
            out = total[0, :, :h, :w]
        else:
            k, pad = patch * scale, r * scale
            size = (hp + 2 * pad, wp + 2 * pad)
            total = F.fold(chosen[None], size, k, stride=scale)
            count = F.fold(torch.ones_like(chosen[None]), size, k, stride=scale)
            out = (total / count)[0, :, pad : pad + h, pad : pad + w]
            if fine is not None:  # each cell's own match's marks, whole
                out = out + F.fold(fine[None, :, best], (hp, wp), scale, stride=scale)[0, :, :h, :w]
        outs.append(out)
    return torch.stack(outs).to(z_c.dtype)


def best_matches(
    query: Tensor, unit: Tensor, match_dims: int | None, balance: float, chunk: int | None = None
) -> Tensor:
    """Each query column's style patch (a column index of `unit`): compared in `match_dims`
    principal components of the style's unit patches (None: all values), shared out with
    `balance` (`balanced_choice`; 0: each column's best match), `chunk` columns scored at a time
    (None: as many as keep SCORE_BLOCK scores)."""
    if match_dims is not None and match_dims < unit.shape[0]:
        basis = _principal_axes(unit, match_dims)  # (C*k*k, d)
        unit, query = basis.T @ unit, basis.T @ query
    step = chunk or max(1, SCORE_BLOCK // unit.shape[1])
    if balance > 0:
        return balanced_choice(query, unit, balance, step)
    return torch.cat([(query[:, j : j + step].T @ unit).argmax(dim=1) for j in range(0, query.shape[1], step)])


BALANCE_TEMPERATURE = 0.02  # of the correlations: how close two matches count as equally good
BALANCE_CANDIDATES = 64  # each position chooses among its this many best matches
BALANCE_ROUNDS = 40


def balanced_choice(query: Tensor, unit: Tensor, strength: float, step: int) -> Tensor:
    """Each query column's style patch (column of `unit`), with the style's patches shared out.

    Plain best matches pile onto a few style patches (a sky takes one flat patch everywhere), so
    the result carries the style's palette and strokes in the photo's proportions, not the
    style's. Here the choice is an optimal transport of the photo's positions onto the style's
    patches (entropic, Sinkhorn in the log domain, over each position's BALANCE_CANDIDATES best
    matches), whose patches' share of the positions is held to their fair share with `strength`
    in [0, 1] (0: free, plain best matches; 1: every patch used about equally): the usage moves
    towards the style's own mix while each pick stays a close match. Memory is bounded like the
    plain search: scores are made `step` positions at a time and only the candidates are kept."""
    query = query / query.norm(dim=0, keepdim=True).clamp_min(EPS)  # scores are correlations
    n_c, n_s = query.shape[1], unit.shape[1]
    k = min(BALANCE_CANDIDATES, n_s)
    tops = [(query[:, j : j + step].T @ unit).topk(k, dim=1) for j in range(0, n_c, step)]
    logits = torch.cat([t.values for t in tops]) / BALANCE_TEMPERATURE  # (n_c, k)
    index = torch.cat([t.indices for t in tops])
    flat = index.reshape(-1)
    log_a, log_b = -math.log(n_c), -math.log(n_s)
    col = torch.zeros(n_s, dtype=logits.dtype, device=logits.device)
    for _ in range(BALANCE_ROUNDS):
        row = log_a - torch.logsumexp(logits + col[index], dim=1)
        mass = (logits + row[:, None]).reshape(-1)
        peak = torch.full_like(col, -torch.inf).scatter_reduce(0, flat, mass, "amax")
        total = torch.zeros_like(col).index_add_(0, flat, (mass - peak[flat]).exp())
        col = torch.where(total > 0, strength * (log_b - peak - total.log()), 0.0)
    pick = (logits + col[index]).argmax(dim=1)
    return index.gather(1, pick[:, None])[:, 0]


DECORATOR_PATCH = 3  # latent positions a side, matched on latents pooled DECORATOR_SCALE times
# each match copies the style's full-resolution block of DECORATOR_PATCH * DECORATOR_SCALE positions
# a side (24 px with two blocks, 12 px with one), placed every DECORATOR_SCALE positions: strokes at
# the size painters make them at the working size. On 64 validation photo x painting pairs it raised
# the texture match (median 0.46 -> 0.53) with no pair left below 0 on style match, for a little of
# the photo (SSIM 0.75 -> 0.73), and the search is 16x cheaper (docs/generalisation.md)
DECORATOR_SCALE = 2
# the style's patches shared out (`balanced_choice`): on the same validation pairs the style match
# rose (median 0.76 -> 0.80 on painted scenes; worst decile 0.50 -> 0.61 on paintings), fewer
# pairs fell below 0 on texture (9 -> 4 of 64), for 0.01-0.02 of SSIM (docs/generalisation.md)
DECORATOR_BALANCE = 0.9
# the style's fine band (below a blur of this many latent positions) taken whole from each
# position's own match, not averaged over the 9 overlapping blocks: on 72 validation photo x
# real-painting pairs the texture match rose (median 0.10 -> 0.15, pairs below 0 21 -> 12) and the
# outputs carry the paintings' dabs (edge energy 0.83 -> 1.05 of the photo's), for 0.07 of SSIM
# (docs/generalisation.md)
DECORATOR_MARKS = 1.0
MAX_MARKS = 4.0  # a wider split hands whole blocks, seams and all, to the fine band
DECORATOR_MIX = 0.8  # share of the swapped style patches; the rest is the photo's own latent
# the search's query: the photo's latent moved this far towards the style's distribution of values,
# channel by channel (`quantile_match`). Matched on their shapes as they are, a photo's many bright
# and dark spots all went to the few patches of a style's rare motif: a dark backdrop with one
# bright shape spread that shape over the photo (44% of the output against 3% of the style; pairs
# 3.4 further from the style than the photo). Halfway, on validation photo x painting pairs the
# worst decile's style match rose (0.47 -> 0.59, 0.55 -> 0.65) at the same texture and 0.01 of SSIM
# (docs/generalisation.md); all the way cost the photo 0.03 more
DECORATOR_TONE = 0.5
# patches compared in the style patches' 64 leading principal components, not all 432 values:
# the search runs about 2.5x faster at the same texture, style and SSIM (docs/performance.md)
DECORATOR_MATCH_DIMS = 64


def decorator_scale(z_s: Tensor, patch: int = DECORATOR_PATCH, scale: int = DECORATOR_SCALE) -> int:
    """`scale` where the style latent holds one patch enlarged that much; 1 (patch for patch)
    where it is smaller than that."""
    return scale if min(z_s.shape[-2:]) >= patch * scale else 1


def search_query(z_c: Tensor, z_s: Tensor, tone: float = DECORATOR_TONE) -> Tensor:
    """What the patch search looks for: the photo's latent moved `tone` of the way to the style's
    distribution of values, channel by channel (0: the latent as it is)."""
    return torch.lerp(z_c, quantile_match(z_c, z_s), tone) if tone > 0.0 else z_c


def style_decorator(
    z_c: Tensor,
    z_s: Tensor,
    patch: int = DECORATOR_PATCH,
    mix: float = DECORATOR_MIX,
    max_patches: int | None = None,
    seed: int = 0,
    balance: float = DECORATOR_BALANCE,
    scale: int = DECORATOR_SCALE,
    marks: float = DECORATOR_MARKS,
    tone: float = DECORATOR_TONE,
) -> Tensor:
    """The patch operator: the content rebuilt from the style's own latent patches
    (`patch_swap`, matched at 1/`scale` resolution, the style's patches shared out, their fine
    marks kept whole),
    with a share of the photo's own latent, which carries the fine shading and edges that no
    patch of another image has. The search looks for the photo's latent moved `tone` of the way
    to the style's distribution of values (`search_query`), so that the photo's brightest spots
    find the style's brightest patches, not its only ones.

    Not re-coloured afterwards: rescaling each latent channel to the style's deviation (AdaIN)
    ignores how the channels move together, and decodes out of [0, 1] (blown-out pixels) even
    when every value came from the style; the swapped patches already carry its palette.
    Mixing with the photo's latent instead of a global transfer (WCT) keeps the result in range,
    since both ends decode inside it (docs/generalisation.md)."""
    swapped = patch_swap(
        search_query(z_c, z_s, tone), z_s, patch=patch, max_patches=max_patches, seed=seed,
        match_dims=DECORATOR_MATCH_DIMS, scale=decorator_scale(z_s, patch, scale), balance=balance, marks=marks,
    )
    if mix >= 1.0:
        return swapped
    return mix * swapped + (1.0 - mix) * z_c

"""Style-transfer operators acting on flow latents z of shape (B, C, H, W), per sample.

`adain` and `wct` have no parameters and are unbiased (restyling with the content's own
statistics gives the content back); `AdaAttN` is learnable attention. All are reached through
one registry (`OPERATORS`, `transfer`), which also does alpha blending and several styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .errors import FlowstyleError

EPS = 1e-5
BLENDS = ("outputs", "latents")


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


def normalize(z: Tensor, eps: float = EPS) -> Tensor:
    """Mean-variance normalisation per channel (zero mean, unit std)."""
    mean, std = mean_std(z, eps)
    return (z - mean) / std


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
DECORATOR_MIX = 0.7  # share of the swapped style patches; the rest is WCT's global transfer


def style_decorator(
    z_c: Tensor,
    z_s: Tensor,
    patch: int = DECORATOR_PATCH,
    mix: float = DECORATOR_MIX,
    max_patches: int | None = None,
    seed: int = 0,
) -> Tensor:
    """The patch operator: the content rebuilt from the style's own latent patches
    (`patch_swap`), re-coloured to the style's channel statistics, mixed with WCT's global
    transfer, which keeps the content's shading that a patch of another image cannot carry."""
    swapped = adain(patch_swap(z_c, z_s, patch=patch, max_patches=max_patches, seed=seed), z_s)
    if mix >= 1.0:
        return swapped
    return mix * swapped + (1.0 - mix) * wct(z_c, z_s)


def _sample_keys(n: int, max_keys: int | None, seed: int, device: torch.device) -> Tensor | None:
    if max_keys is None or max_keys >= n:
        return None
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=generator)[:max_keys].sort().values.to(device)


ATTENTION_CHUNK_BYTES = 256 * 2**20  # bound on chunk x Nk scores, should SDPA materialise them
UNFUSED_MAX_SCORES = 2**20  # at or below this many scores per chunk, the textbook op order


def attention_mean_var(
    query: Tensor, key: Tensor, value: Tensor, chunk: int | None = None
) -> tuple[Tensor, Tensor]:
    """Attention-weighted mean M = A V and variance A(V*V) - M*M, A = softmax(Q^T K), no scale.

    query (B, Nq, D), key (B, Nk, D), value (B, Nk, E). Both moments come from one attention
    whose values are [V, V*V]; it runs through scaled_dot_product_attention in query chunks, so
    the Nq x Nk map is never held whole.

    SDPA's fused (flash) CPU kernel needs one head size for q, k and v; otherwise it takes the
    unfused path, which materialises chunk x Nk scores (1 GiB per 4096 x 65536 chunk) and is
    3-5x slower. Zero columns appended to q and k leave Q K^T unchanged and select the fused
    kernel. Tiny problems keep the unfused path: it is as cheap there and follows the textbook
    formula's operation order (S = sqrt(A V^2 - M^2) is ill-conditioned where the variance is
    near zero, so two float32 orders can differ by ~1e-4). The default chunk keeps chunk x Nk
    scores under ATTENTION_CHUNK_BYTES in case the unfused path is ever taken.
    """
    values = torch.cat([value, value * value], -1).unsqueeze(1)
    n_keys = key.shape[1]
    if chunk is None:
        chunk = max(1, min(4096, ATTENTION_CHUNK_BYTES // (4 * n_keys)))
    extra = values.shape[-1] - query.shape[-1]
    if extra > 0 and min(chunk, query.shape[1]) * n_keys > UNFUSED_MAX_SCORES:
        query, key = F.pad(query, (0, extra)), F.pad(key, (0, extra))
    key = key.unsqueeze(1)
    outs = []
    for start in range(0, query.shape[1], chunk):
        q = query[:, start : start + chunk].unsqueeze(1)
        outs.append(F.scaled_dot_product_attention(q, key, values, scale=1.0).squeeze(1))
    out = torch.cat(outs, 1)
    mean, second = out.split(value.shape[-1], -1)
    return mean, F.relu(second - mean * mean)


class AdaAttN(nn.Module):
    """Attention-based transfer (Liu et al. 2021) on one flow latent level.

    Q = f(norm(z_c)), K = g(norm(z_s)), V = h(z_s); M = A V, S = sqrt(A(V*V) - M*M);
    output S * norm(z_c) + M. h starts at identity and f, g at identity times C**-0.25, so the
    untrained module is already a parameter-free attention transfer with the usual 1/sqrt(C)
    temperature. (At plain identity the logits of C-channel normalised latents are ~C, the
    softmax is one-hot and the output copies single style positions: on 4 validation pairs
    SSIM to the content 0.16 against 0.34 with the temperature, at equal style match.)
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.f = nn.Conv2d(channels, channels, 1)
        self.g = nn.Conv2d(channels, channels, 1)
        self.h = nn.Conv2d(channels, channels, 1)
        for conv, gain in ((self.f, channels**-0.25), (self.g, channels**-0.25), (self.h, 1.0)):
            nn.init.eye_(conv.weight.view(channels, channels))
            conv.weight.data.mul_(gain)
            nn.init.zeros_(conv.bias)

    def forward(
        self, z_c: Tensor, z_s: Tensor, max_keys: int | None = None, seed: int = 0
    ) -> Tensor:
        norm_c, mean, std = self.moments(z_c, z_s, max_keys, seed)
        return std * norm_c + mean

    def moments(
        self, z_c: Tensor, z_s: Tensor, max_keys: int | None = None, seed: int = 0
    ) -> tuple[Tensor, Tensor, Tensor]:
        """(norm(z_c), M, S), each shaped like z_c: what the output S * norm(z_c) + M is made of."""
        b, c, h, w = z_c.shape
        norm_c = normalize(z_c)
        query = self.f(norm_c).flatten(2).transpose(1, 2)
        key = self.g(normalize(z_s)).flatten(2).transpose(1, 2)
        value = self.h(z_s).flatten(2).transpose(1, 2)
        keep = _sample_keys(key.shape[1], max_keys, seed, key.device)
        if keep is not None:
            key, value = key[:, keep], value[:, keep]
        mean, var = attention_mean_var(query, key, value)
        std = torch.sqrt(var + 1e-12)  # keeps the gradient finite where the variance is zero
        return norm_c, mean.transpose(1, 2).reshape(b, c, h, w), std.transpose(1, 2).reshape(b, c, h, w)


def adaattn_naive(module: AdaAttN, z_c: Tensor, z_s: Tensor) -> Tensor:
    """The textbook formula with the full attention map: a reference for tests, O(Nc*Ns) memory."""
    b, c, h, w = z_c.shape
    norm_c = normalize(z_c)
    q = module.f(norm_c).flatten(2)
    k = module.g(normalize(z_s)).flatten(2)
    v = module.h(z_s).flatten(2)
    attn = torch.softmax(q.transpose(1, 2) @ k, -1)
    mean = attn @ v.transpose(1, 2)
    second = attn @ (v * v).transpose(1, 2)
    std = torch.sqrt(F.relu(second - mean * mean))
    return std.transpose(1, 2).reshape(b, c, h, w) * norm_c + mean.transpose(1, 2).reshape(b, c, h, w)


OPERATORS = ("adain", "wct", "adaattn", "patch")
# what the anchor pulls to the style's: each channel's mean and std (AdaIN), the mean and the whole
# channel covariance (WCT), which also keeps how the channels move together, or that and the
# style's whole distribution along its main tone axis (`tone_curve`), which keeps paper white
ANCHOR_STATS = ("mean-std", "covariance", "covariance-tone")
# `latent_distance` is relative to the style's variance: xval's photo x painting pairs lie at
# 0.14-700 (median about 1), clip-art cards crossed with each other at 0.005-0.3
MAX_ANCHOR_NEAR = 10.0


def checked_anchor(value: object, name: str = "anchor") -> float:
    """`value` as the share (0..1) for `anchor_moments`; one check for the model file, the
    stylize options and the training config, each naming its own field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise FlowstyleError(f"{name} must be between 0 and 1, got {value!r}")
    return float(value)


def checked_anchor_near(value: object, name: str = "anchor near") -> float:
    """`value` as the distance scale (>= 0, 0 = off) below which `anchor_moments` fades the
    attention's own change out; one check for every place it is set."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= MAX_ANCHOR_NEAR:
        raise FlowstyleError(f"{name} must be between 0 (off) and {MAX_ANCHOR_NEAR:g}, got {value!r}")
    return float(value)


def checked_anchor_stats(value: object, name: str = "anchor stats") -> str:
    """`value` as one of ANCHOR_STATS; like `checked_anchor`, one check for every place it is set."""
    if value not in ANCHOR_STATS:
        raise FlowstyleError(f"{name} must be one of {', '.join(ANCHOR_STATS)}, got {value!r}")
    return str(value)


@dataclass(frozen=True)
class Anchor:
    """AdaAttN's pull towards the style's global latent moments (`anchor_moments`): how far
    (0 = none, 1 = all the way), which moments (one of ANCHOR_STATS), and below which latent
    distance between content and style the attention's own change fades out (`near_fade`; 0 =
    off). One value, so that they travel together from the options, the model file or the
    training config to the operator."""

    amount: float = 0.0
    stats: str = ANCHOR_STATS[0]
    near: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", checked_anchor(self.amount))
        object.__setattr__(self, "stats", checked_anchor_stats(self.stats))
        object.__setattr__(self, "near", checked_anchor_near(self.near))

    @property
    def active(self) -> bool:
        return self.amount > 0.0 or self.near > 0.0

    def __str__(self) -> str:
        """"anchor 0.75", or "anchor 1 (covariance, near 0.3)" where the statistics are not the
        default mean-std or the near fade is on."""
        extra = ([self.stats] if self.stats != ANCHOR_STATS[0] else []) + ([f"near {self.near:g}"] if self.near else [])
        return f"anchor {self.amount:g}" + (f" ({', '.join(extra)})" if extra else "")


NO_ANCHOR = Anchor()


def anchor_moments(
    out: Tensor, z_c: Tensor, z_s: Tensor, anchor: Anchor, weight: Tensor | None = None
) -> Tensor:
    """The attention's output `out` for content z_c, moved by `anchor.amount` (0..1) towards
    AdaIN(out, z_s) (stats "mean-std": its channel mean/std the style's) or WCT(out, z_s)
    ("covariance": its channel mean and covariance); then, with `anchor.near` > 0, faded
    towards the global transfer of the content itself (`near_fade`).

    AdaAttN's per-position moments are attention-weighted style moments; nothing ties their
    average over the image to the style's. Where a content already resembles the style, the
    local attention can move the whole image away from it (cross-source test: 10 of 36 pairs
    ended further from the style than the photo). Anchoring keeps the attention's local
    structure and restores AdaIN's global match (docs/generalisation.md). A one-block flow's
    12 latent channels are the colours of 2x2 pixel cells, strongly correlated: matching each
    channel alone turned saturated reds pink on clip art, matching the covariance keeps them.
    """
    if not anchor.active:
        return out
    if anchor.amount > 0.0:
        out = out + anchor.amount * (_global_transfer(out, z_s, anchor.stats, weight) - out)
    if anchor.near > 0.0:
        out = near_fade(out, z_c, z_s, anchor, weight)
    return out


def _global_transfer(z: Tensor, z_s: Tensor, stats: str, weight: Tensor | None) -> Tensor:
    """AdaIN ("mean-std"), WCT ("covariance") or WCT then `tone_curve` ("covariance-tone") of z
    to z_s, the anchor's target."""
    if stats in ("covariance", "covariance-tone"):
        # the maps are constants for the gradient: eigh's backward blows up where eigenvalues
        # nearly coincide (flat crops in training); the pull itself stays differentiable
        with torch.no_grad():
            maps = _wct_maps(z, z_s, EPS, weight)
        out = _apply_wct(z, *maps)
        return tone_curve(out, z_s, weight) if stats == "covariance-tone" else out
    return adain(z, z_s, weight=weight)


def latent_distance(z_c: Tensor, z_s: Tensor, stats: str, weight: Tensor | None = None) -> Tensor:
    """How far the content's latent statistics are from the style's, per sample (B, 1, 1, 1):
    the squared 2-Wasserstein distance between the Gaussians they describe, over the style's
    total variance. stats "covariance": full-covariance Gaussians, |m_c - m_s|^2 +
    tr(C_c + C_s - 2 (C_s^1/2 C_c C_s^1/2)^1/2); "mean-std": per-channel ones,
    sum((m_c - m_s)^2 + (s_c - s_s)^2). 0 when the content already has the style's statistics;
    about 1 when it differs from it as much as the style varies. weight: a soft region of z_c."""
    with torch.no_grad():
        mean_c, cov_c = _mean_cov(z_c, EPS, weight)
        mean_s, cov_s = _mean_cov(z_s, EPS)
        var_s = cov_s.diagonal(dim1=-2, dim2=-1)
        shift = (mean_c - mean_s).pow(2).sum((1, 2))
        if stats != "mean-std":  # the Gaussians of the full covariances
            root_s = _sym_power(cov_s, 0.5, 0.0)
            cross = torch.linalg.eigvalsh(root_s @ cov_c @ root_s).clamp_min(0).sqrt().sum(-1)
            spread = cov_c.diagonal(dim1=-2, dim2=-1).sum(-1) + var_s.sum(-1) - 2 * cross
        else:
            spread = (cov_c.diagonal(dim1=-2, dim2=-1).sqrt() - var_s.sqrt()).pow(2).sum(-1)
        distance = (shift + spread.clamp_min(0)) / var_s.sum(-1)
    return distance.to(z_c.dtype).view(-1, 1, 1, 1)


def near_fade(out: Tensor, z_c: Tensor, z_s: Tensor, anchor: Anchor, weight: Tensor | None = None) -> Tensor:
    """G + f * (out - G), with G the global transfer of z_c (AdaIN or WCT, by `anchor.stats`)
    and f = min(1, latent_distance / anchor.near).

    AdaIN and WCT leave a content that already has the style's statistics as it is; the
    attention does not: it re-draws every position from the style's, and on a content close to
    its style (clip art on clip art) that moved outputs further from the style than the content
    was (docs/generalisation.md). Pairs at least `near` apart keep the
    attention's output unchanged; closer pairs get less of what the attention adds to the
    global transfer, none when the statistics coincide."""
    fade = latent_distance(z_c, z_s, anchor.stats, weight) / anchor.near
    if bool((fade >= 1.0).all()):  # far pairs, the usual case: the attention's output as it is
        return out
    target = _global_transfer(z_c, z_s, anchor.stats, weight)
    return torch.where(fade >= 1.0, out, target + fade * (out - target))


def apply_operator(
    method: str,
    z_c: Tensor,
    z_s: Tensor,
    adaattn: AdaAttN | None = None,
    max_keys: int | None = None,
    seed: int = 0,
    weight: Tensor | None = None,
    anchor: Anchor = NO_ANCHOR,
) -> Tensor:
    """T(z_c, z_s) for the operator named `method`.

    weight: a soft region mask of z_c. AdaIN and WCT take the content statistics over that
    region; AdaAttN's attention needs nothing (its queries are per position, and which
    positions attend to this style is decided by the compositing in `transfer`).
    anchor (AdaAttN only): `anchor_moments` of the attention's output.
    """
    if method == "adain":
        return adain(z_c, z_s, weight=weight)
    if method == "wct":
        return wct(z_c, z_s, weight=weight)
    if method == "adaattn":
        if adaattn is None:
            raise ValueError("method 'adaattn' needs a model with a trained AdaAttN module")
        return anchor_moments(adaattn(z_c, z_s, max_keys=max_keys, seed=seed), z_c, z_s, anchor, weight)
    if method == "patch":
        return style_decorator(z_c, z_s, max_patches=max_keys, seed=seed)
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(OPERATORS)}")


def normalize_weights(weights: Sequence[float] | None, n: int) -> list[float]:
    """Style weights as a list summing to 1 (equal when None)."""
    if weights is None:
        return [1.0 / n] * n
    weights = [float(w) for w in weights]
    if len(weights) != n:
        raise ValueError(f"got {len(weights)} style weights for {n} styles")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("style weights must be non-negative and not all zero")
    total = sum(weights)
    return [w / total for w in weights]


def transfer(
    method: str,
    z_c: Tensor,
    z_styles: Sequence[Tensor],
    alpha: float = 1.0,
    style_weights: Sequence[float] | None = None,
    blend: str = "outputs",
    adaattn: AdaAttN | None = None,
    max_keys: int | None = None,
    seed: int = 0,
    regions: Tensor | None = None,
    anchor: Anchor = NO_ANCHOR,
) -> Tensor:
    """Combine a content latent with one or more style latents.

    blend="outputs": sum_i w_i T(z_c, z_s_i) (styles of any size);
    blend="latents": T(z_c, sum_i w_i z_s_i) (styles of one size).
    regions: instead of global weights, a soft mask (B or 1, n_styles, H, W) at the latent's
    resolution, summing to 1 over styles at each position: `regional_transfer`.
    Then alpha trades style for content: z_c + alpha * (T - z_c); alpha > 1 extrapolates past
    T (the pipeline's `gain`, which restores the strength that phase averaging softens).
    anchor: AdaAttN's pull towards the style's global latent moments (`anchor_moments`).
    """
    if not z_styles:
        raise ValueError("at least one style is needed")
    if alpha < 0.0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    if blend not in BLENDS:
        raise ValueError(f"blend must be one of {BLENDS}, got {blend!r}")
    if regions is not None:
        out = regional_transfer(method, z_c, z_styles, regions, adaattn, max_keys, seed, anchor)
        return z_c + alpha * (out - z_c) if alpha != 1.0 else out
    weights = normalize_weights(style_weights, len(z_styles))

    def op(z_s: Tensor) -> Tensor:
        return apply_operator(method, z_c, z_s, adaattn, max_keys, seed, anchor=anchor)

    if blend == "latents":
        shapes = {tuple(z.shape) for z in z_styles}
        if len(shapes) > 1:
            raise ValueError("blend='latents' needs styles of one size; use blend='outputs'")
        out = op(sum(w * z for w, z in zip(weights, z_styles)))
    else:
        out = sum(w * op(z) for w, z in zip(weights, z_styles) if w > 0)
    return z_c + alpha * (out - z_c) if alpha != 1.0 else out


def regional_transfer(
    method: str,
    z_c: Tensor,
    z_styles: Sequence[Tensor],
    regions: Tensor,
    adaattn: AdaAttN | None = None,
    max_keys: int | None = None,
    seed: int = 0,
    anchor: Anchor = NO_ANCHOR,
) -> Tensor:
    """Each region of the content in its own style: sum_k r_k * T_k(z_c, z_s_k).

    regions (B or 1, K, H, W): soft weights per style at the latent's resolution, summing to 1
    over k. AdaIN and WCT take the content statistics of region k only (weighted by r_k, not
    the zero-filled rest), so each region gets its own style's statistics whatever the others
    hold; AdaAttN's positions in region k attend to style k's keys only. Soft weights blend the
    transfers across an edge. A style whose region is empty costs nothing; one region covering
    everything is the plain transfer, bit for bit.
    """
    if regions.dim() != 4 or regions.shape[1] != len(z_styles) or regions.shape[-2:] != z_c.shape[-2:]:
        raise ValueError(
            f"regions must be (B, {len(z_styles)}, {z_c.shape[-2]}, {z_c.shape[-1]}) for "
            f"{len(z_styles)} styles and this latent, got {tuple(regions.shape)}"
        )
    regions = regions.to(z_c.dtype)
    used = [k for k in range(len(z_styles)) if bool(regions[:, k].gt(0).any())]
    if len(used) == 1 and bool(regions[:, used[0]].eq(1).all()):
        return apply_operator(method, z_c, z_styles[used[0]], adaattn, max_keys, seed, anchor=anchor)
    out = torch.zeros_like(z_c)
    for k in used:
        weight = regions[:, k : k + 1]
        out = out + weight * apply_operator(method, z_c, z_styles[k], adaattn, max_keys, seed, weight, anchor)
    return out

"""AdaAttN: learnable attention transfer, its memory-efficient attention moments, and the
anchor that pulls its output towards the style's global latent moments."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..errors import FlowstyleError
from .adain import adain
from .stats import EPS, _mean_cov, _sample_keys, _sym_power, normalize
from .wct import _apply_wct, _wct_maps, tone_curve

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

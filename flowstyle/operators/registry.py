"""The operators by name (`OPERATORS`, `apply_operator`) and `transfer`, which combines a content
latent with one or more style latents as a `TransferSpec` says: operator, strength, style
weights, how several styles mix, regions, and the AdaAttN module and anchor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .adaattn import NO_ANCHOR, AdaAttN, Anchor, anchor_moments
from .adain import adain
from .patch import DECORATOR_BALANCE, DECORATOR_MARKS, style_decorator
from .wct import wct

OPERATORS = ("adain", "wct", "adaattn", "patch")
BLENDS = ("outputs", "latents")


def apply_operator(
    method: str,
    z_c: Tensor,
    z_s: Tensor,
    adaattn: AdaAttN | None = None,
    max_keys: int | None = None,
    seed: int = 0,
    weight: Tensor | None = None,
    anchor: Anchor = NO_ANCHOR,
    balance: float = DECORATOR_BALANCE,
    marks: float = DECORATOR_MARKS,
) -> Tensor:
    """T(z_c, z_s) for the operator named `method`.

    weight: a soft region mask of z_c. AdaIN and WCT take the content statistics over that
    region; AdaAttN's attention needs nothing (its queries are per position, and which
    positions attend to this style is decided by the compositing in `transfer`).
    anchor (AdaAttN only): `anchor_moments` of the attention's output.
    balance (patch only): how strongly the style's patches are shared out (`balanced_choice`).
    marks (patch only): the blur below which the style's marks come whole from each match.
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
        return style_decorator(z_c, z_s, max_patches=max_keys, seed=seed, balance=balance, marks=marks)
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


@dataclass(frozen=True)
class TransferSpec:
    """What `transfer` does with a content latent and its style latents.

    method: the operator (one of OPERATORS). alpha trades style for content:
    z_c + alpha * (T - z_c); alpha > 1 extrapolates past T (the pipeline passes alpha times the
    recipe's gain, which restores the strength that phase averaging softens).
    style_weights: one per style (None: equal). blend "outputs": sum_i w_i T(z_c, z_s_i) (styles
    of any size); "latents": T(z_c, sum_i w_i z_s_i) (styles of one size).
    adaattn: the model's AdaAttN module (method "adaattn"). max_keys, seed: AdaAttN / patch
    operator: a seeded random subset of at most max_keys style positions (a speed knob).
    regions: instead of global weights, a soft mask (B or 1, n_styles, H, W) at the latent's
    resolution, summing to 1 over styles at each position (`regional_transfer`).
    anchor: AdaAttN's pull towards the style's global latent moments (`anchor_moments`).
    balance: the patch operator's sharing out of the style's patches (`balanced_choice`).
    marks: the patch operator's blur below which the style's marks are kept whole (`patch_swap`).
    """

    method: str
    alpha: float = 1.0
    style_weights: Sequence[float] | None = None
    blend: str = "outputs"
    adaattn: AdaAttN | None = field(default=None, compare=False)
    max_keys: int | None = None
    seed: int = 0
    regions: Tensor | None = field(default=None, compare=False)
    anchor: Anchor = NO_ANCHOR
    balance: float = DECORATOR_BALANCE
    marks: float = DECORATOR_MARKS

    def __post_init__(self) -> None:
        if self.alpha < 0.0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha}")
        if self.blend not in BLENDS:
            raise ValueError(f"blend must be one of {BLENDS}, got {self.blend!r}")

    def op(self, z_c: Tensor, z_s: Tensor, weight: Tensor | None = None) -> Tensor:
        """T(z_c, z_s) for this spec's operator (`apply_operator`)."""
        return apply_operator(
            self.method, z_c, z_s, self.adaattn, self.max_keys, self.seed, weight, self.anchor, self.balance, self.marks
        )


def transfer(spec: TransferSpec, z_c: Tensor, z_styles: Sequence[Tensor]) -> Tensor:
    """Combine a content latent with one or more style latents as `spec` says (see TransferSpec).

    With regions: `regional_transfer`; else the styles' weighted mix (blend). Then alpha.
    """
    if not z_styles:
        raise ValueError("at least one style is needed")
    if spec.regions is not None:
        out = regional_transfer(spec, z_c, z_styles)
        return z_c + spec.alpha * (out - z_c) if spec.alpha != 1.0 else out
    weights = normalize_weights(spec.style_weights, len(z_styles))
    if spec.blend == "latents":
        shapes = {tuple(z.shape) for z in z_styles}
        if len(shapes) > 1:
            raise ValueError("blend='latents' needs styles of one size; use blend='outputs'")
        out = spec.op(z_c, sum(w * z for w, z in zip(weights, z_styles)))
    else:
        out = sum(w * spec.op(z_c, z) for w, z in zip(weights, z_styles) if w > 0)
    return z_c + spec.alpha * (out - z_c) if spec.alpha != 1.0 else out


def regional_transfer(spec: TransferSpec, z_c: Tensor, z_styles: Sequence[Tensor]) -> Tensor:
    """Each region of the content in its own style: sum_k r_k * T_k(z_c, z_s_k), r = spec.regions
    (alpha, style weights and blend are not applied here).

    regions (B or 1, K, H, W): soft weights per style at the latent's resolution, summing to 1
    over k. AdaIN and WCT take the content statistics of region k only (weighted by r_k, not
    the zero-filled rest), so each region gets its own style's statistics whatever the others
    hold; AdaAttN's positions in region k attend to style k's keys only. Soft weights blend the
    transfers across an edge. A style whose region is empty costs nothing; one region covering
    everything is the plain transfer, bit for bit.
    """
    regions = spec.regions
    if regions is None:
        raise ValueError("regional_transfer needs spec.regions")
    if regions.dim() != 4 or regions.shape[1] != len(z_styles) or regions.shape[-2:] != z_c.shape[-2:]:
        raise ValueError(
            f"regions must be (B, {len(z_styles)}, {z_c.shape[-2]}, {z_c.shape[-1]}) for "
            f"{len(z_styles)} styles and this latent, got {tuple(regions.shape)}"
        )
    regions = regions.to(z_c.dtype)
    used = [k for k in range(len(z_styles)) if bool(regions[:, k].gt(0).any())]
    if len(used) == 1 and bool(regions[:, used[0]].eq(1).all()):
        return spec.op(z_c, z_styles[used[0]])
    out = torch.zeros_like(z_c)
    for k in used:
        weight = regions[:, k : k + 1]
        out = out + weight * spec.op(z_c, z_styles[k], weight)
    return out

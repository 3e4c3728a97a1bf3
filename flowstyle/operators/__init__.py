"""Style-transfer operators acting on flow latents z of shape (B, C, H, W), per sample.

`adain` and `wct` have no parameters and are unbiased (restyling with the content's own
statistics gives the content back); `AdaAttN` is learnable attention; `style_decorator` (the
"patch" operator) rebuilds the content from the style's own latent patches. All are reached
through one registry (`OPERATORS`, `apply_operator`, `transfer` with a `TransferSpec`), which also
does alpha blending, several styles and regions.

    stats.py     mean_std, normalize, covariance helpers shared by the operators
    adain.py     adain
    wct.py       wct, tone_curve
    adaattn.py   AdaAttN, attention_mean_var, adaattn_naive; the anchor (Anchor, anchor_moments, ...)
    patch.py     patch_swap, style_decorator
    registry.py  OPERATORS, BLENDS, apply_operator, normalize_weights, TransferSpec, transfer, regional_transfer
"""

from .adaattn import (
    ANCHOR_STATS, ATTENTION_CHUNK_BYTES, MAX_ANCHOR_NEAR, NO_ANCHOR, UNFUSED_MAX_SCORES, AdaAttN, Anchor,
    adaattn_naive, anchor_moments, attention_mean_var, checked_anchor, checked_anchor_near, checked_anchor_stats,
    latent_distance, near_fade,
)
from .adain import adain
from .patch import (
    DECORATOR_BALANCE, DECORATOR_MARKS, DECORATOR_MIX, DECORATOR_PATCH, MAX_MARKS, PATCH_FOLDS, patch_swap, style_decorator,
)
from .registry import BLENDS, OPERATORS, TransferSpec, apply_operator, normalize_weights, regional_transfer, transfer
from .stats import EPS, mean_std, normalize
from .wct import TONE_WIDTH, tone_curve, wct

__all__ = [
    "ANCHOR_STATS", "ATTENTION_CHUNK_BYTES", "MAX_ANCHOR_NEAR", "NO_ANCHOR", "UNFUSED_MAX_SCORES", "AdaAttN", "Anchor",
    "adaattn_naive", "anchor_moments", "attention_mean_var", "checked_anchor", "checked_anchor_near",
    "checked_anchor_stats", "latent_distance", "near_fade", "adain", "DECORATOR_BALANCE", "DECORATOR_MARKS", "DECORATOR_MIX", "MAX_MARKS", "DECORATOR_PATCH", "PATCH_FOLDS",
    "patch_swap", "style_decorator", "BLENDS", "OPERATORS", "TransferSpec", "apply_operator", "normalize_weights",
    "regional_transfer", "transfer", "EPS", "mean_std", "normalize", "TONE_WIDTH", "tone_curve", "wct",
]

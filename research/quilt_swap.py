"""The patch operator with blocks laid like a quilt (fewer, tapered overlaps): tried, not kept.

patch_swap places a block at every pooled position and averages the 9 overlapping blocks, which
blurs the style's marks. Here blocks are placed every `step` pooled positions (step 2 with 3 x 3
patches: neighbours overlap by one pooled cell) and blended with a tent window, so the middle of
each block is one style patch. More dabs of paint, a patchier subject, no more texture and less
SSIM (reports/paint-knobs/masters/README.md).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from flowstyle.operators import patch as P
from flowstyle.operators.stats import normalize


def tent(k: int, power: float = 1.0) -> Tensor:
    ramp = torch.minimum(torch.arange(1, k + 1), torch.arange(k, 0, -1)).float()
    w = (ramp / ramp.max()) ** power
    return w[:, None] * w[None, :]


def quilt_swap(z_c: Tensor, z_s: Tensor, patch: int = 3, scale: int = 2, step: int = 2,
               balance: float = P.DECORATOR_BALANCE, match_dims: int | None = P.DECORATOR_MATCH_DIMS,
               power: float = 1.0) -> Tensor:
    b, c, h, w = z_c.shape
    r = patch // 2
    hp, wp = -(-h // scale) * scale, -(-w // scale) * scale
    outs = []
    for i in range(b):
        raw, _, unit = P._style_patches(z_s[i : i + 1].float(), patch, None, 0, scale)
        content = z_c[i : i + 1].float()
        if (hp, wp) != (h, w):
            content = F.pad(content, (0, wp - w, 0, hp - h), mode="replicate")
        query = normalize(P._pool(content, scale))
        hc, wc = query.shape[-2:]
        ny, nx = -(-(hc - 1) // step) + 1, -(-(wc - 1) // step) + 1
        extra_y, extra_x = (ny - 1) * step + 1 - hc, (nx - 1) * step + 1 - wc
        query = F.pad(query, (0, extra_x, 0, extra_y), mode="replicate")
        mode = "reflect" if min(hc, wc) > r else "replicate"
        query = F.pad(query, (r, r, r, r), mode=mode)
        query = F.unfold(query, patch, stride=step)[0]  # (C*k*k, ny*nx)
        best = P.best_matches(query, unit, match_dims, balance)
        k = patch * scale
        win = tent(k, power).reshape(1, k * k, 1).repeat(c, 1, 1).reshape(c * k * k, 1)
        chosen = raw[:, best] * win
        size = ((ny - 1) * step * scale + k, (nx - 1) * step * scale + k)
        total = F.fold(chosen[None], size, k, stride=step * scale)
        count = F.fold(win.expand_as(chosen)[None], size, k, stride=step * scale)
        pad = r * scale
        outs.append((total / count.clamp_min(1e-8))[0, :, pad : pad + h, pad : pad + w])
    return torch.stack(outs).to(z_c.dtype)

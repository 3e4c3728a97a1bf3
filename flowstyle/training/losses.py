"""Training losses on the normalised VGG19 (as the ArtFlow code defines them).

content: MSE of relu4_1 (stylized vs content); style: sum over relu1_1..relu4_1 of
MSE(mean) + MSE(std) (stylized vs style); optional AdaAttN local feature loss: VGG features of
the output against a parameter-free attention transfer of the VGG features.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F

from ..operators import attention_mean_var, normalize
from .vgg import VGGEncoder, mean_std

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
CONTENT_LAYER = "relu4_1"
LOCAL_LAYERS = ("relu3_1", "relu4_1")


def content_loss(out_feats: dict[str, Tensor], content_feats: dict[str, Tensor]) -> Tensor:
    return F.mse_loss(out_feats[CONTENT_LAYER], content_feats[CONTENT_LAYER])


def style_stats(feats: dict[str, Tensor]) -> dict[str, tuple[Tensor, Tensor]]:
    """Per-layer (mean, std) of VGG features: all the style loss needs of a style image."""
    return {name: mean_std(feats[name]) for name in STYLE_LAYERS}


def style_loss(out_feats: dict[str, Tensor], target: dict[str, tuple[Tensor, Tensor]]) -> Tensor:
    total = out_feats[STYLE_LAYERS[0]].new_zeros(())
    for name in STYLE_LAYERS:
        mean, std = mean_std(out_feats[name])
        t_mean, t_std = target[name]
        total = total + F.mse_loss(mean, t_mean) + F.mse_loss(std, t_std)
    return total


def attention_target(content_feat: Tensor, style_feat: Tensor) -> Tensor:
    """Parameter-free AdaAttN on VGG features: per position, the attention-weighted style mean
    and std applied to the normalised content feature (AdaAttN's local-loss target)."""
    b, c, h, w = content_feat.shape
    query = normalize(content_feat).flatten(2).transpose(1, 2)
    key = normalize(style_feat).flatten(2).transpose(1, 2)
    value = style_feat.flatten(2).transpose(1, 2)
    mean, var = attention_mean_var(query, key, value)
    mean = mean.transpose(1, 2).reshape(b, c, h, w)
    std = var.add(1e-8).sqrt().transpose(1, 2).reshape(b, c, h, w)
    return std * normalize(content_feat) + mean


def local_feature_loss(out_feats, content_feats, style_feats) -> Tensor:
    total = out_feats[LOCAL_LAYERS[0]].new_zeros(())
    for name in LOCAL_LAYERS:
        with torch.no_grad():
            target = attention_target(content_feats[name].float(), style_feats[name].float())
        total = total + F.mse_loss(out_feats[name].float(), target)
    return total


def _squeeze_lines(n: int) -> list[int]:
    return sorted({n // 2, n // 4, (3 * n) // 4} - {0})


def grid_energy(images: Tensor) -> Tensor:
    """Per image: spectral power on the squeeze-frequency lines over the power 2-3 bins beside
    them (luminance, Hann window) — the grid index, differentiable."""
    luma = (images * images.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1)
    h, w = luma.shape[-2:]
    window = torch.outer(torch.hann_window(h, periodic=False, device=images.device), torch.hann_window(w, periodic=False, device=images.device))
    luma = (luma - luma.mean((-2, -1), keepdim=True)) * window
    power = torch.fft.fft2(luma.float()).abs().pow(2)
    rows, cols = _squeeze_lines(h), _squeeze_lines(w)
    beside_r = sorted({(r + d) % h for r in rows for d in (-3, -2, 2, 3)} - set(rows))
    beside_c = sorted({(c + d) % w for c in cols for d in (-3, -2, 2, 3)} - set(cols))
    on = torch.cat([power[:, rows, :].flatten(1), power[:, :, cols].flatten(1)], 1).mean(1)
    off = torch.cat([power[:, beside_r, :].flatten(1), power[:, :, beside_c].flatten(1)], 1).mean(1)
    return on / (off + 1e-8)


def grid_loss(out: Tensor, content: Tensor) -> Tensor:
    """Anti-grid term (proposed in the report, untried there): penalise squeeze-frequency energy
    the output has beyond the content's own, on a log scale."""
    excess = torch.log(grid_energy(out) + 1e-6) - torch.log(grid_energy(content).detach() + 1e-6)
    return torch.relu(excess).mean()


def range_loss(out: Tensor) -> Tensor:
    """Mean squared excursion of the decoded image outside [0, 1].

    The VGG losses never see a clamp, so a decoder can leave the image range wherever that
    lowers them; on unfamiliar inputs such a decoder blows out (half the pixels clipped). This
    term keeps the decoded image inside the range the user will see, without clamping it.
    """
    return (torch.relu(out - 1.0).pow(2) + torch.relu(-out).pow(2)).mean()


def shift_consistency_loss(out: Tensor, out_shifted: Tensor, dy: int, dx: int) -> Tensor:
    """MSE between a stylization and that of a copy of its input shifted by (dy, dx) px,
    on the overlap after shifting back: zero only if the flow does not depend on where the
    squeeze grid falls (the cause of the grid pattern)."""
    h, w = out.shape[-2:]
    return F.mse_loss(out[..., dy:, dx:], out_shifted[..., : h - dy, : w - dx])


@dataclass
class LossWeights:
    content: float = 0.1
    style: float = 1.0
    local: float = 0.0
    grid: float = 0.0
    range: float = 0.0
    shift: float = 0.0


@dataclass
class LossTerms:
    total: Tensor
    content: Tensor
    style: Tensor
    local: Tensor
    grid: Tensor
    range: Tensor


def compute_losses(
    vgg: VGGEncoder, out: Tensor, content: Tensor, style: Tensor, weights: LossWeights
) -> LossTerms:
    """All training losses for one batch (VGG of content and style without gradients)."""
    with torch.no_grad():
        content_feats = vgg(content)
        style_feats = vgg(style)
    out_feats = vgg(out)
    c = content_loss(out_feats, content_feats)
    s = style_loss(out_feats, style_stats(style_feats))
    loc = local_feature_loss(out_feats, content_feats, style_feats) if weights.local > 0 else c.new_zeros(())
    grid = grid_loss(out, content) if weights.grid > 0 else c.new_zeros(())
    rng = range_loss(out.float())
    total = weights.content * c + weights.style * s + weights.local * loc + weights.grid * grid
    if weights.range > 0:
        total = total + weights.range * rng
    return LossTerms(total, c.detach(), s.detach(), loc.detach(), grid.detach(), rng.detach())

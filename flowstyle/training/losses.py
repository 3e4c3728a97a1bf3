"""The losses, on the normalised VGG19 (as the ArtFlow code defines them); the evaluation
metrics (eval/metrics.py) use these same functions.

content: MSE of relu4_1 (stylized vs content); style: sum over relu1_1..relu4_1 of
MSE(mean) + MSE(std) (stylized vs style); Gram: Gatys et al.'s style loss (evaluation only);
texture: distance between centred Gram (covariance) matrices of VGG features, the
measure of whether the style's textures (strokes, patterns) arrived, not only its colours;
optional AdaAttN local feature loss: VGG features of the output against a parameter-free
attention transfer of the VGG features; the grid index (squeeze-frequency energy) and its loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F

from ..image.color import luminance
from ..operators import attention_mean_var, mean_std, normalize
from .vgg import VGGEncoder

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
CONTENT_LAYER = "relu4_1"
LOCAL_LAYERS = ("relu3_1", "relu4_1")
TEXTURE_LAYERS = ("relu3_1", "relu4_1")  # the texture metric: stroke- and motif-sized features
TEXTURE_TRAIN_LAYERS = ("relu2_1", "relu3_1", "relu4_1", "relu5_1")  # the training texture term
GRID_OFFSETS = (2, 3)  # the grid index's reference lines: this many bins beside each squeeze line


def content_loss(out_feats: dict[str, Tensor], content_feats: dict[str, Tensor]) -> Tensor:
    return F.mse_loss(out_feats[CONTENT_LAYER], content_feats[CONTENT_LAYER])


def style_stats(feats: dict[str, Tensor]) -> dict[str, tuple[Tensor, Tensor]]:
    """Per-layer (mean, std) of VGG features: all the style loss needs of a style image."""
    return {name: mean_std(feats[name], unbiased=True) for name in STYLE_LAYERS}


def style_loss_per_image(out_feats: dict[str, Tensor], target: dict[str, tuple[Tensor, Tensor]]) -> Tensor:
    """(B,) style loss of each image: sum over relu1_1..relu4_1 of the channel-mean squared error of
    its feature means and stds against the target's."""
    total = out_feats[STYLE_LAYERS[0]].new_zeros(out_feats[STYLE_LAYERS[0]].shape[0])
    for name in STYLE_LAYERS:
        mean, std = mean_std(out_feats[name], unbiased=True)
        t_mean, t_std = target[name]
        total = total + (mean - t_mean).pow(2).flatten(1).mean(1) + (std - t_std).pow(2).flatten(1).mean(1)
    return total


def style_loss(out_feats: dict[str, Tensor], target: dict[str, tuple[Tensor, Tensor]]) -> Tensor:
    """Sum over relu1_1..relu4_1 of MSE(channel means) + MSE(channel stds); images may differ in size."""
    return style_loss_per_image(out_feats, target).mean()


def style_hinge_loss(out_loss: Tensor, content_loss_to_style: Tensor, eps: float = 1e-6) -> Tensor:
    """Mean over the batch of relu(L(out, style) / L(content, style) - 1): zero for every output
    at least as close to its style as its content was (style match >= 0), growing with how far
    past it an output lands. The plain style loss weighs pairs by their absolute loss, so a pair
    that starts close to its style (clip art on clip art) hardly counts even when the output
    moves away from it; this term counts exactly those."""
    return torch.relu(out_loss / (content_loss_to_style.detach() + eps) - 1.0).mean()


def gram(feat: Tensor) -> Tensor:
    """F F^T / (C H W): independent of image size, and of a size comparable across layers."""
    b, c, h, w = feat.shape
    f = feat.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def gram_loss(out_feats: dict[str, Tensor], style_feats: dict[str, Tensor]) -> Tensor:
    """Sum over relu1_1..relu4_1 of MSE between Gram matrices: it also sees channel
    correlations that mean/std ignore."""
    return sum(F.mse_loss(gram(out_feats[k]), gram(style_feats[k])) for k in STYLE_LAYERS)


def covariance(feat: Tensor) -> Tensor:
    """(B, C, H, W) -> (B, C, C): centred Gram matrix, (F - mean)(F - mean)^T / HW, in float32.

    Centred, so that it measures how features vary *together* across the image (textures), not
    their means (which the mean/std style loss already matches)."""
    f = feat.float().flatten(2)
    f = f - f.mean(dim=2, keepdim=True)
    return f @ f.transpose(1, 2) / f.shape[2]


def texture_targets(feats: dict[str, Tensor], layers: tuple[str, ...] = TEXTURE_LAYERS) -> dict[str, Tensor]:
    """Per-layer covariance matrices: all the texture distance needs of a style image."""
    return {name: covariance(feats[name]) for name in layers}


def texture_distance_per_image(out_feats: dict[str, Tensor], targets: dict[str, Tensor]) -> Tensor:
    """(B,): mean over the target's layers of ||cov(out) - cov(target)||_F^2 / ||cov(target)||_F^2.

    Relative, so that layers and styles of very different feature energy count alike; 0 means the
    same feature covariances (textures) as the target."""
    total = None
    for name, target in targets.items():
        diff = (covariance(out_feats[name]) - target).pow(2).sum(dim=(1, 2))
        rel = diff / target.pow(2).sum(dim=(1, 2)).clamp_min(1e-12)
        total = rel if total is None else total + rel
    return total / len(targets)


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


def _hann(n: int, like: Tensor) -> Tensor:
    """Periodic Hann window: a bin-centred sinusoid leaks into +-1 bin only, never into +-2."""
    return torch.hann_window(n, periodic=True, dtype=like.dtype, device=like.device)


SQUEEZE_PERIOD = 4  # px: the lattice of a two-block flow's squeezes (periods 2 and 4)


def squeeze_bins(n: int, period: int = SQUEEZE_PERIOD) -> list[int]:
    """The DFT bins of a `period`-px lattice for a side of n samples: n k / period, k = 1..period-1.

    The default, 4, gives n/4, n/2, 3n/4: periods 2 and 4 px, what a two-block flow's squeezes
    leave; 2 gives n/2 only, the whole lattice of a one-block flow."""
    return sorted({round(k * n / period) % n for k in range(1, period)} - {0})


def _neighbour_bins(n: int, lines: list[int]) -> list[int]:
    near = {(k + s * d) % n for k in lines for d in GRID_OFFSETS for s in (-1, 1)}
    return sorted(near - set(lines))


def grid_line_powers(luma: Tensor, rows: bool = True, period: int = SQUEEZE_PERIOD) -> tuple[Tensor, Tensor]:
    """Per image of luma (B, H, W): (mean power on the squeeze lines, mean power on the lines
    2-3 bins beside them) of the windowed spectrum. The grid index is their ratio.

    The luminance minus its mean, times a 2-D periodic Hann window, gives a power spectrum P;
    the squeeze lines are the columns u in squeeze_bins(W, period) and (if `rows`) the rows v in
    squeeze_bins(H, period). Natural images have smooth spectra, so the ratio is near 1; a grid adds
    power exactly on the lines. Differentiable.
    """
    h, w = luma.shape[-2:]
    x = (luma - luma.mean((-2, -1), keepdim=True)) * torch.outer(_hann(h, luma), _hann(w, luma))
    power = torch.fft.fft2(x).abs().pow(2)
    on = torch.zeros(h, w, dtype=torch.bool, device=luma.device)
    near = torch.zeros_like(on)
    cols = squeeze_bins(w, period)
    on[:, cols] = True
    near[:, _neighbour_bins(w, cols)] = True
    if rows:
        lines = squeeze_bins(h, period)
        on[lines, :] = True
        near[_neighbour_bins(h, lines), :] = True
    near &= ~on
    return power[..., on].mean(-1), power[..., near].mean(-1)


def grid_energy(images: Tensor) -> Tensor:
    """Per image: the grid index of its luminance (squeeze-line power over the power beside
    them), differentiable — what eval/metrics.py reports, as a training signal."""
    on, near = grid_line_powers(luminance(images.float()))
    return on / (near + 1e-8)


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


def distillation_loss(out: Tensor, teacher_out: Tensor) -> Tensor:
    """MSE between the trained path's output and a frozen teacher's on the same pair. With the
    initial model's all-phase average as the teacher (`TrainConfig.distill_weight`), one pass
    learns what the average gives (grid-free, its steadier style) at the cost of one pass."""
    return F.mse_loss(out, teacher_out.detach())


LAPLACIAN_POOL = 4  # px: the structure the Laplacian term keeps is the photo's at a quarter resolution


def laplacian_loss(out: Tensor, content: Tensor, pool: int = LAPLACIAN_POOL) -> Tensor:
    """MSE between the Laplacians of the output and the photo, both average-pooled `pool` times
    (Li et al., Laplacian-steered style transfer): it keeps the photo's edges and shapes where the
    VGG content loss (relu4_1) lets them dissolve, and leaves marks finer than `pool` px free."""
    kernel = out.new_tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]]).expand(out.shape[1], 1, 3, 3)

    def laplacian(x: Tensor) -> Tensor:
        return F.conv2d(F.avg_pool2d(x, pool), kernel, groups=x.shape[1])

    return F.mse_loss(laplacian(out), laplacian(content.to(out.dtype)))


@dataclass
class LossWeights:
    content: float = 0.1
    style: float = 1.0
    local: float = 0.0
    grid: float = 0.0
    range: float = 0.0
    shift: float = 0.0
    hinge: float = 0.0
    texture: float = 0.0
    laplacian: float = 0.0


@dataclass
class LossTerms:
    total: Tensor
    content: Tensor
    style: Tensor
    local: Tensor
    grid: Tensor
    range: Tensor
    hinge: Tensor
    texture: Tensor
    laplacian: Tensor


def compute_losses(
    vgg: VGGEncoder, out: Tensor, content: Tensor, style: Tensor, weights: LossWeights
) -> LossTerms:
    """All training losses for one batch (VGG of content and style without gradients)."""
    with torch.no_grad():
        content_feats = vgg(content)
        style_feats = vgg(style)
    out_feats = vgg(out)
    c = content_loss(out_feats, content_feats)
    target = style_stats(style_feats)
    per_image = style_loss_per_image(out_feats, target)
    s = per_image.mean()
    hinge = c.new_zeros(())
    if weights.hinge > 0:
        hinge = style_hinge_loss(per_image, style_loss_per_image(content_feats, target))
    loc = local_feature_loss(out_feats, content_feats, style_feats) if weights.local > 0 else c.new_zeros(())
    grid = grid_loss(out, content) if weights.grid > 0 else c.new_zeros(())
    rng = range_loss(out.float())
    texture = c.new_zeros(())
    if weights.texture > 0:
        layers = tuple(name for name in TEXTURE_TRAIN_LAYERS if name in out_feats)
        texture = texture_distance_per_image(out_feats, texture_targets(style_feats, layers)).mean()
    lap = laplacian_loss(out.float(), content.float()) if weights.laplacian > 0 else c.new_zeros(())
    total = (weights.content * c + weights.style * s + weights.local * loc + weights.grid * grid
             + weights.hinge * hinge + weights.texture * texture + weights.laplacian * lap)
    if weights.range > 0:
        total = total + weights.range * rng
    return LossTerms(total, c.detach(), s.detach(), loc.detach(), grid.detach(), rng.detach(), hinge.detach(),
                     texture.detach(), lap.detach())

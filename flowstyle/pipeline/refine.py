"""Refinement: the result's latent optimised against the VGG losses, for more of the style's
strokes and patterns than one feed-forward transfer gives.

The result x has a latent z that decodes to it exactly (a single-phase path's own transferred
latent; an average over phases is encoded once), then z takes `steps`
Adam steps on the weighted sum of the losses of decode(z), each divided by its value at the
start (their raw sizes differ by orders of magnitude from style to style): the content loss
against the photo (VGG relu4_1), the style loss (feature means and deviations, relu1_1..relu4_1)
and the texture distance (feature covariances, relu2_1..relu4_1) against the style. Every
iterate is a decoded latent, so the picture stays what the flow can draw; the losses are taken
at LOSS_SIZE px, the scale at which textures are compared (eval/metrics.py). Each step costs
about three flow passes plus VGG: a best-quality mode, not a default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torch.nn import functional as F

from ..operators import normalize_weights
from ..training import losses as L
from ..training.vgg import load_vgg

LOSS_SIZE = 512  # px, longest side at which the losses see the picture
# weights of the losses relative to their starting values
CONTENT_WEIGHT = 1.0
STYLE_WEIGHT = 1.0
TEXTURE_WEIGHT = 4.0
TEXTURE_LAYERS = ("relu2_1", "relu3_1", "relu4_1")
LEARNING_RATE = 0.03  # Adam, in latent units (the latent is about unit-variance)
MAX_REFINE_PIXELS = 4_000_000  # the backward pass keeps every coupling activation
PASSES_PER_STEP = 3.0  # a step's cost in flow passes (a decode, its backward, VGG): progress, estimates


def refine_passes(steps: int, encodes: bool) -> float:
    """What `steps` of refinement cost in whole flow passes, for progress and time estimates: the
    steps, the final decoding, and the result's encoding unless the transfer's own latent is
    refined (a single squeeze phase keeps it, see Stylizer)."""
    if not steps:
        return 0.0
    return steps * PASSES_PER_STEP + 1.0 + (1.0 if encodes else 0.0)


def _at_loss_size(x: Tensor) -> Tensor:
    h, w = x.shape[-2:]
    scale = LOSS_SIZE / max(h, w)
    if scale >= 1.0:
        return x
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)


class Targets:
    """What the losses compare with: the photo's relu4_1 and the styles' statistics, weighted
    (weights: one per style, None for equal; `normalize_weights`). bf16: the picture's VGG pass
    in bfloat16 (about 1.5x faster on CPUs with bf16 units); the targets stay float32."""

    def __init__(
        self, photo: Tensor, styles: Sequence[Tensor], weights: Sequence[float] | None = None, bf16: bool = False
    ) -> None:
        vgg = load_vgg("relu4_1", normalized=True, device=photo.device)
        self.vgg = vgg
        self.bf16 = bf16
        with torch.no_grad():
            self.content = vgg(_at_loss_size(photo))[L.CONTENT_LAYER]
            feats = [vgg(_at_loss_size(s)) for s in styles]
        share = normalize_weights(weights, len(styles))
        stats = [L.style_stats(f) for f in feats]
        self.stats = {
            name: tuple(sum(p * st[name][i] for p, st in zip(share, stats)) for i in range(2))
            for name in L.STYLE_LAYERS
        }
        self.covariances = {
            name: sum(p * L.covariance(f[name]) for p, f in zip(share, feats)) for name in TEXTURE_LAYERS
        }

    def losses(self, x: Tensor) -> Tensor:
        """The content loss, the style loss and the texture distance of each texture layer of
        the picture x, as one tensor."""
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            feats = {name: f.float() for name, f in self.vgg(_at_loss_size(x)).items()}
        terms = [F.mse_loss(feats[L.CONTENT_LAYER], self.content), L.style_loss(feats, self.stats)]
        for name, target in self.covariances.items():
            terms.append(L.texture_distance_per_image(feats, {name: target}).mean())
        return torch.stack(terms)


# each layer's texture distance counts on its own: one layer far off (say, the fine relu2_1 energy
# of a photo against a smooth painting) would otherwise take all of the texture weight
WEIGHTS = (CONTENT_WEIGHT, STYLE_WEIGHT) + (TEXTURE_WEIGHT / len(TEXTURE_LAYERS),) * len(TEXTURE_LAYERS)


def refine(
    z: Tensor,
    decode: Callable[[Tensor], Tensor],
    crop: Callable[[Tensor], Tensor],
    targets: Targets,
    steps: int,
    on_step: Callable[[int], None] | None = None,
) -> Tensor:
    """`steps` Adam steps on latent z; returns the refined latent (detached).

    decode: latent -> padded image (differentiable); crop: padded image -> the picture the
    losses judge (the padding is not part of it)."""
    z = z.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=LEARNING_RATE)
    scale = None
    for i in range(steps):
        if on_step is not None:
            on_step(i)
        opt.zero_grad(set_to_none=True)
        losses = targets.losses(crop(decode(z)).clamp(0, 1))
        if scale is None:
            scale = z.new_tensor(WEIGHTS) / losses.detach().clamp_min(1e-8)
        (grad,) = torch.autograd.grad((losses * scale).sum(), [z])
        z.grad = grad
        opt.step()
    return z.detach()

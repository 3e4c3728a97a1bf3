"""Detail matching: the painted image's fine contrast lifted towards the style's.

The flow paints the style's palette and patches, but the patch fold (overlapping patches
averaged), the lattice filter and the carry to full size all soften: outputs of crisp, line-drawn
or high-contrast styles come out hazier than both the photo and the style, and end further from
the style's VGG statistics than the photo was. Here the output's detail band (the image minus its
Gaussian blur at `DETAIL_SIGMA` px, about a stroke's edge at the output's scale) is scaled up
until its luminance contrast is the style's, by at most `strength` extra: out + g * detail, g =
clamp(contrast(style) / contrast(out) - 1, 0, strength). Never down: a smooth style leaves a
detailed photo as it is. With a mask each region takes its own style's lift.

With the patch operator keeping the style's marks whole, the band it lifts carries them: the
AdaAttN-trained models' recipes lift by up to 1 (reports/paint-knobs/marks/). On outputs without
the style's marks (the attention's, the averaged fold's) it lifts mostly the photo's own detail
and painted styles lose some of their texture (reports/paint-knobs/detail/), so a model's default
lift applies to its default operator only (`StylizeOptions.for_model`).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from .color import luminance
from .filters import gaussian_blur

DETAIL_SIGMA = 2.0  # px at the output's scale: the band whose contrast is matched
MAX_DETAIL = 3.0  # the strongest lift the recipe allows: beyond it edges ring and clip


def detail_band(image: Tensor) -> Tensor:
    """(B, C, H, W) image minus its Gaussian blur at DETAIL_SIGMA: its fine detail."""
    return image - gaussian_blur(image, DETAIL_SIGMA)


def band_contrast(band: Tensor) -> float:
    """Standard deviation of a detail band's luminance: its contrast."""
    return float(luminance(band).std())


def detail_contrast(image: Tensor) -> float:
    """The contrast of the image's detail band."""
    return band_contrast(detail_band(image))


def detail_gain(out_contrast: float, style_contrast: float, strength: float) -> float:
    """How much of its own detail band an output gains: the style's contrast over its own, minus 1,
    within [0, strength]."""
    if out_contrast <= 0.0:
        return 0.0
    return min(max(style_contrast / out_contrast - 1.0, 0.0), strength)


def match_detail(
    image: Tensor, styles: Sequence[Tensor], weights: Sequence[float], strength: float, regions: Tensor | None = None
) -> Tensor:
    """`image` (1, 3, H, W) with its detail band lifted towards the styles' contrast.

    styles: at the scale their marks have in `image` (resized like the content they painted);
    weights: one per style (summing to 1), how the styles are mixed where there is no mask;
    regions: (1, n_styles, H, W) mask weights, each region lifted towards its own style.
    """
    if strength <= 0.0:
        return image
    band = detail_band(image)
    own = band_contrast(band)
    gains = [detail_gain(own, detail_contrast(s), strength) for s in styles]
    if regions is None:
        gain = sum(w * g for w, g in zip(weights, gains))
        return image + gain * band if gain else image
    gain_map = (regions.to(image) * image.new_tensor(gains).view(1, -1, 1, 1)).sum(1, keepdim=True)
    return image + gain_map * band

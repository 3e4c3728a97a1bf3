"""Numbers that judge a stylization: style and content losses, SSIM/PSNR, the grid index, cost.

Why each exists:
- `style_loss` / `gram_loss` / `content_loss` are the training objectives (and the Gram loss of
  Gatys et al.) measured on the normalised VGG19, so evaluation speaks the same language as
  training and as the ArtFlow / AdaAttN papers.
- `style_match` rescales the style loss against the do-nothing baseline (the content image
  itself): 0 = no closer to the style than the photo, 1 = the style's VGG statistics exactly.
  It is comparable across styles whose raw losses differ by orders of magnitude.
- `texture_match` does for textures what `style_match` does for colours: per-channel means and
  deviations are met by a recolouring, feature covariances (centred Gram matrices of relu3_1 and
  relu4_1, at one fixed scale) only by the style's own strokes and patterns.
- `ssim_luminance` / `psnr` measure what survives of the content (structure, exact pixels).
- `grid_index` / `grid_ratio` measure the periodic pattern that the squeeze layers of the flow
  leave behind (period 2 and 4 px for two blocks) instead of judging it by eye.
- `measure` gives the seconds and peak memory of one call, for the cost columns.

Every image argument accepts what `flowstyle.imageio.load_tensor` does: a path, a PIL image,
a (3, H, W) / (1, 3, H, W) float tensor in [0, 1] or an H x W x 3 uint8 array.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..errors import FlowstyleError
from ..image.color import LUMA
from ..image.io import ImageLike, load_tensor
from ..training import losses as L

BORDER = 32  # default width of the border band, px


# --------------------------------------------------------------------------- images


def as_tensor(img: ImageLike) -> Tensor:
    """Any image -> (1, 3, H, W) float32 in [0, 1] on the CPU."""
    return load_tensor(img).float().cpu()


def luminance(img: ImageLike) -> np.ndarray:
    """Luminance (BT.601 weights) as an H x W float64 array in [0, 1]."""
    x = as_tensor(img)[0].double().numpy()
    return np.tensordot(np.asarray(LUMA), x, axes=1)


# --------------------------------------------------------------------------- grid index


def _line_powers(luma: np.ndarray, rows: bool = True, period: int = L.SQUEEZE_PERIOD) -> tuple[float, float]:
    """(mean power on the squeeze lines, mean power beside them): `losses.grid_line_powers`."""
    on, near = L.grid_line_powers(torch.from_numpy(np.ascontiguousarray(luma))[None], rows, period)
    return float(on[0]), float(near[0])


def _border_strips(luma: np.ndarray, border: int) -> list[np.ndarray]:
    """The four edge strips, each turned so that its long axis runs along the columns."""
    h, w = luma.shape
    if border < 16 or 2 * border > min(h, w):
        raise FlowstyleError(
            f"border band of {border} px needs border >= 16 and an image of at least {2 * border} px "
            f"a side, got {w}x{h}"
        )
    return [luma[:border, :], luma[-border:, :], luma[:, :border].T, luma[:, -border:].T]


def grid_index(img: ImageLike, border: int | None = None, period: int = L.SQUEEZE_PERIOD) -> float:
    """Periodic-grid energy at the squeeze frequencies; about 1.0 for an image without a grid.

    The luminance, minus its mean, times a 2-D periodic Hann window, gives a power spectrum P.
    The *squeeze lines* are the rows v in {H/2, H/4, 3H/4} and the columns u in {W/2, W/4, 3W/4}
    of P (periods 2 and 4 px in either direction, the pattern a 2-block squeeze leaves). The
    index is mean(P on those lines) / mean(P on the lines 2 and 3 bins beside them), a local
    reference for the image's own spectrum at those frequencies. Natural images have smooth
    spectra, so the ratio is near 1; a grid adds power exactly on the lines.

    border: when given (e.g. 32), measure only the border band, where the squeeze artifact is
    strongest (the flow sees the image edge): the four edge strips (top and bottom `border` x W,
    left and right H x `border`; corners belong to two strips), each with its own 2-D spectrum,
    using only the squeeze lines *along the strip's long axis* (a 32-bin short axis is too coarse
    for a reference 2-3 bins away: the power-law fall-off of natural spectra would bias it).
    A 2-D grid shows in every strip; a pattern varying along one image axis shows in the two
    strips that run along that axis. Line and reference powers are averaged over the four
    strips before dividing.

    period: the lattice measured, in px (`losses.squeeze_bins`): 4 (periods 2 and 4, the default:
    what a two-block flow leaves) or 2 (period 2 only: a one-block flow's whole lattice; its
    period-4 lines carry no grid of that flow, only the image's own spectrum, i.e. noise).
    """
    luma = luminance(img)
    h, w = luma.shape
    if min(h, w) < 16:
        raise FlowstyleError(f"the grid index needs an image of at least 16x16 px, got {w}x{h}")
    if border is None:
        powers = np.array([_line_powers(luma, period=period)])
    else:
        powers = np.array([_line_powers(p, rows=False, period=period) for p in _border_strips(luma, border)])
    on, near = powers.mean(axis=0)
    scale = max(on, near)
    if scale <= 1e-20:  # a flat image: no spectrum, no grid
        return 1.0
    return float(on / max(near, 1e-12 * scale))


def grid_ratio(stylized: ImageLike, content: ImageLike, border: int | None = None, period: int = L.SQUEEZE_PERIOD) -> float:
    """grid_index(stylized) / grid_index(content): the grid the stylization added (1.0 = none).

    Dividing by the content's own index cancels periodic structure that the photo already had
    (brick walls, fabric, JPEG blocks).
    """
    return grid_index(stylized, border, period) / grid_index(content, border, period)


# --------------------------------------------------------------------------- VGG losses


def _vgg_features(img: ImageLike) -> dict[str, Tensor]:
    from ..training.vgg import load_vgg

    with torch.inference_mode():
        return load_vgg("relu4_1", normalized=True)(as_tensor(img))


@dataclass
class Features:
    """One image's VGG features and what the losses derive from them, computed once: an
    evaluation compares every output with its content and style several ways."""

    vgg: dict[str, Tensor]
    style_stats: dict[str, tuple[Tensor, Tensor]]
    texture: dict[str, Tensor]

    @classmethod
    def of(cls, img: ImageLike) -> Features:
        x = as_tensor(img)
        vgg = _vgg_features(x)
        # texture is compared at TEXTURE_SIZE: reuse these features when the image is that size
        texture = L.texture_targets(vgg) if max(x.shape[-2:]) == TEXTURE_SIZE else texture_features(x)
        return cls(vgg, L.style_stats(vgg), texture)


def style_loss(out: ImageLike, style: ImageLike) -> float:
    """The training style loss (`losses.style_loss`): sum over relu1_1..relu4_1 of MSE(channel
    means) + MSE(channel stds), normalised VGG19; images may differ in size."""
    return float(L.style_loss(_vgg_features(out), L.style_stats(_vgg_features(style))))


def gram_loss(out: ImageLike, style: ImageLike) -> float:
    """Gatys et al.'s style loss (`losses.gram_loss`): MSE between Gram matrices (F F^T / CHW)."""
    return float(L.gram_loss(_vgg_features(out), _vgg_features(style)))


def content_loss(out: ImageLike, content: ImageLike) -> float:
    """The training content loss (`losses.content_loss`): MSE of relu4_1 features (same size)."""
    a, b = as_tensor(out), as_tensor(content)
    if a.shape != b.shape:
        raise FlowstyleError(f"content loss needs same-size images, got {tuple(a.shape)} and {tuple(b.shape)}")
    return float(L.content_loss(_vgg_features(a), _vgg_features(b)))


def style_match(out: ImageLike, content: ImageLike, style: ImageLike) -> float:
    """1 - style_loss(out, style) / style_loss(content, style).

    0: the output is no closer to the style than the photo was; 1: exact VGG statistics.
    Negative when the output moved away from the style.
    """
    base = style_loss(content, style)
    if base <= 0.0:
        return 1.0
    return 1.0 - style_loss(out, style) / base


TEXTURE_SIZE = 512  # px, longest side at which textures are compared (stroke scale is scale-bound)


def texture_features(img: ImageLike, size: int = TEXTURE_SIZE) -> dict[str, Tensor]:
    """Covariances of relu3_1 and relu4_1 of the image resized to `size` px on its longest side:
    what `texture_distance` compares (compute a style's once, reuse it for every output)."""
    from ..image.transforms import resize_longest

    with torch.inference_mode():
        return L.texture_targets(_vgg_features(resize_longest(as_tensor(img), size)))


def texture_distance(img: ImageLike | dict[str, Tensor], style: ImageLike | dict[str, Tensor]) -> float:
    """Mean over relu3_1 / relu4_1 of ||cov(img) - cov(style)||_F^2 / ||cov(style)||_F^2, both
    at TEXTURE_SIZE px; either argument may be `texture_features` already computed."""
    a = img if isinstance(img, dict) else texture_features(img)
    b = style if isinstance(style, dict) else texture_features(style)
    total = sum(float(((a[k] - b[k]).pow(2).sum()) / b[k].pow(2).sum().clamp_min(1e-12)) for k in b)
    return total / len(b)


def texture_match(out: ImageLike, content: ImageLike, style: ImageLike | dict[str, Tensor]) -> float:
    """1 - texture_distance(out, style) / texture_distance(content, style).

    0: no closer to the style's textures than the photo; 1: the style's feature covariances.
    A recolouring scores about 0; only strokes and patterns of the style raise it.
    """
    target = style if isinstance(style, dict) else texture_features(style)
    base = texture_distance(content, target)
    if base <= 0.0:
        return 1.0
    return 1.0 - texture_distance(out, target) / base


# --------------------------------------------------------------------------- pixel metrics


def ssim_luminance(a: ImageLike, b: ImageLike) -> float:
    """SSIM (scikit-image, 7x7 window, data range 1) between the luminances of two images."""
    from skimage.metrics import structural_similarity

    la, lb = luminance(a), luminance(b)
    if la.shape != lb.shape:
        raise FlowstyleError(f"SSIM needs same-size images, got {la.shape} and {lb.shape}")
    return float(structural_similarity(la, lb, data_range=1.0))


def psnr(a: ImageLike, b: ImageLike) -> float:
    """Peak signal-to-noise ratio in dB over RGB in [0, 1]; inf for identical images."""
    x, y = as_tensor(a).double(), as_tensor(b).double()
    if x.shape != y.shape:
        raise FlowstyleError(f"PSNR needs same-size images, got {tuple(x.shape)} and {tuple(y.shape)}")
    mse = float(torch.mean((x - y) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)


# --------------------------------------------------------------------------- cost


@dataclass
class Cost:
    """Wall time of one call and its peak resident memory above what the process held before.

    peak_mib is None where the peak cannot be reset (non-Linux): see `measure`.
    """

    seconds: float
    peak_mib: float | None


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _release_free_memory() -> None:
    """Hand memory that malloc keeps for reuse back to the OS (glibc), so reusing it is counted."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process (Linux >= 4.0: clear_refs 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def measure(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, Cost]:
    """Call fn(*args, **kwargs); return (its result, Cost).

    Why peak RSS and not tracemalloc: torch allocates its tensors outside Python's allocator,
    so tracemalloc misses them. On Linux the kernel's resident-set high-water mark (VmHWM) is
    reset before the call and read after it; the figure is that peak minus the resident size
    before the call, i.e. the extra memory the call needed at its worst (model weights already
    loaded are not counted). Memory that the allocator freed earlier but still holds would be
    reused unseen, so it is first handed back to the OS (glibc `malloc_trim`). Elsewhere
    peak_mib is None rather than a misleading number.
    """
    gc.collect()
    _release_free_memory()
    before = _status_kib("VmRSS")
    exact = before is not None and _reset_peak_rss()
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    seconds = time.perf_counter() - start
    peak = None
    if exact:
        hwm = _status_kib("VmHWM")
        peak = max(0, hwm - before) / 1024.0 if hwm is not None else None
    return result, Cost(seconds, peak)


# --------------------------------------------------------------------------- summaries


def clipped_fraction(img: ImageLike) -> float:
    """Share of pixels with any channel at 0 or 255 once written as 8-bit: blown-out areas."""
    x = as_tensor(img).detach().float().clamp(0, 1)
    q = torch.round(x * 255)
    clipped = ((q <= 0) | (q >= 255)).any(dim=-3)
    return float(clipped.float().mean())


def _finite(values: Sequence[float]) -> np.ndarray | None:
    """The finite values as float64 (None and NaN/inf dropped); None when there are none."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return np.asarray(finite, dtype=np.float64) if finite else None


def median_worst(values: Sequence[float], higher_is_better: bool = True) -> tuple[float, float]:
    """Median and worst decile (10th percentile if higher is better, else 90th) of finite values."""
    arr = _finite(values)
    if arr is None:
        return math.nan, math.nan
    return float(np.median(arr)), float(np.percentile(arr, 10 if higher_is_better else 90))


def mean_spread(values: Sequence[float]) -> tuple[float, float]:
    """Mean and (population) standard deviation of finite values; (nan, nan) when none."""
    arr = _finite(values)
    if arr is None:
        return math.nan, math.nan
    return float(arr.mean()), float(arr.std())

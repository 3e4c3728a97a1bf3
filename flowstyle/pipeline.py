"""The stylize pipeline: load -> resize -> pad -> encode -> transfer -> decode -> crop.

`Stylizer` holds one model and caches encoded styles, so one style over many contents is
encoded once. `stylize` is the one-call convenience over it.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Union

import torch
from PIL import Image
from torch import Tensor
from torch.nn import functional as F

from .errors import FlowstyleError
from .imageio import ImageLike, load_tensor, tensor_to_image
from .operators import BLENDS, OPERATORS, normalize_weights, transfer
from .zoo import DEFAULT_MODEL, StyleModel, load_model

PAD_MODES = ("reflect", "zeros")
MAX_PIXELS = 40_000_000  # beyond this the untiled flow needs tens of GiB; ask for --size
ModelLike = Union[str, os.PathLike, StyleModel]


def phase_shifts(phases: int, multiple: int) -> list[tuple[int, int]]:
    """Squeeze phases to average over: 1 (none), 2 (diagonal), 4 ({0,1}^2) or all multiple^2.

    Each squeeze groups pixels in a fixed 2x2 lattice; a shifted input lands on another lattice
    phase, and averaging the decoded outputs over phases cancels the periodic grid pattern.
    """
    full = multiple * multiple
    if phases == 1:
        return [(0, 0)]
    if phases == 2:
        return [(0, 0), (1, 1)]
    if phases == 4:
        return [(dy, dx) for dy in (0, 1) for dx in (0, 1)]
    if phases == full:
        return [(dy, dx) for dy in range(multiple) for dx in range(multiple)]
    raise FlowstyleError(f"phases must be 1, 2, 4 or {full} for this model, got {phases}")


def resize_longest(x: Tensor, size: int | None) -> Tensor:
    """Resize (1, 3, H, W) so the longest side is `size` (aspect kept, antialiased)."""
    if size is None:
        return x
    if size < 1:
        raise FlowstyleError(f"size must be positive, got {size}")
    h, w = x.shape[-2:]
    scale = size / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    if (new_h, new_w) == (h, w):
        return x
    out = F.interpolate(x, size=(new_h, new_w), mode="bicubic", antialias=True, align_corners=False)
    return out.clamp(0, 1)


def _pad(x: Tensor, left: int, right: int, top: int, bottom: int, mode: str) -> Tensor:
    if not (left or right or top or bottom):
        return x
    if mode == "zeros":
        return F.pad(x, (left, right, top, bottom), mode="constant", value=0.0)
    # reflect needs pad < side; repeat in steps for pads larger than the image
    while left or right or top or bottom:
        h, w = x.shape[-2:]
        step = [min(left, w - 1), min(right, w - 1), min(top, h - 1), min(bottom, h - 1)]
        if not any(step):
            return F.pad(x, (left, right, top, bottom), mode="replicate")
        x = F.pad(x, tuple(step), mode="reflect")
        left, right, top, bottom = (a - b for a, b in zip((left, right, top, bottom), step))
    return x


def _check_size(x: Tensor, multiple: int, what: str) -> None:
    h, w = x.shape[-2:]
    if min(h, w) < multiple:
        raise FlowstyleError(f"{what} is too small ({w}x{h}); sides must be at least {multiple} px")
    if h * w > MAX_PIXELS:
        raise FlowstyleError(f"{what} is too large ({w}x{h}) for memory; pass a smaller size")


def _fingerprint(src: ImageLike) -> str | None:
    """A cache key for a style source (path + mtime, or a hash of the pixels)."""
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        try:
            stat = path.stat()
        except OSError:
            return None
        return f"path:{path.resolve()}:{stat.st_mtime_ns}:{stat.st_size}"
    if isinstance(src, Image.Image):
        return "pil:" + hashlib.sha1(src.tobytes() + str(src.size).encode() + src.mode.encode()).hexdigest()
    if isinstance(src, Tensor):
        data = src.detach().float().cpu().contiguous().numpy().tobytes()
        return "tensor:" + hashlib.sha1(data + str(tuple(src.shape)).encode()).hexdigest()
    return None


class Stylizer:
    """A loaded model plus a cache of encoded styles: the object to keep for batch work."""

    def __init__(
        self, model: ModelLike = DEFAULT_MODEL, device: str | torch.device = "cpu", cache_size: int = 32
    ) -> None:
        self.device = torch.device(device)
        self.model = model if isinstance(model, StyleModel) else load_model(model)
        self.model.to(self.device).eval()
        self.cache_size = cache_size
        self._style_cache: OrderedDict[tuple, Tensor] = OrderedDict()

    @property
    def multiple(self) -> int:
        return self.model.config.multiple

    def _encode(self, x: Tensor) -> Tensor:
        return self.model.flow.encode(x.to(self.device))

    def encode_style(self, style: ImageLike, size: int | None) -> Tensor:
        """Encode one style at `size` (longest side), centre-cropped to a multiple; cached."""
        key = _fingerprint(style)
        cache_key = (key, size)
        if key is not None and cache_key in self._style_cache:
            self._style_cache.move_to_end(cache_key)
            return self._style_cache[cache_key]
        x = resize_longest(load_tensor(style), size)
        _check_size(x, self.multiple, "style image")
        m = self.multiple
        h, w = x.shape[-2:]
        top, left = (h % m) // 2, (w % m) // 2
        x = x[..., top : top + h - h % m, left : left + w - w % m]
        with torch.inference_mode():
            z = self._encode(x)
        if key is not None:
            self._style_cache[cache_key] = z
            while len(self._style_cache) > self.cache_size:
                self._style_cache.popitem(last=False)
        return z

    def stylize_tensor(
        self,
        content: ImageLike,
        styles: ImageLike | Sequence[ImageLike],
        method: str | None = None,
        alpha: float = 1.0,
        style_weights: Sequence[float] | None = None,
        blend: str = "outputs",
        size: int | None = None,
        style_size: int | None = None,
        pad: int = 64,
        pad_mode: str = "reflect",
        max_keys: int | None = None,
        seed: int = 0,
        phases: int = 1,
    ) -> Tensor:
        """Like `stylize` but returns a (1, 3, H, W) float tensor in [0, 1] (no 8-bit rounding)."""
        method = method or self.model.method
        styles = list(styles) if isinstance(styles, (list, tuple)) else [styles]
        self._check_options(method, alpha, style_weights, len(styles), blend, pad, pad_mode, max_keys)
        x = resize_longest(load_tensor(content), size)
        _check_size(x, self.multiple, "content image")
        h, w = x.shape[-2:]
        z_styles = [self.encode_style(s, style_size or max(h, w)) for s in styles]
        m = self.multiple
        base = _pad(x, pad, pad + (-(w + 2 * pad)) % m, pad, pad + (-(h + 2 * pad)) % m, pad_mode)
        shifts = phase_shifts(phases, m)
        total = None
        with torch.inference_mode():
            for dy, dx in shifts:
                shifted = _pad(base, dx, (m - dx) % m, dy, (m - dy) % m, pad_mode)
                z_c = self._encode(shifted)
                z = transfer(
                    method, z_c, z_styles, alpha, style_weights, blend,
                    self.model.adaattn, max_keys, seed,
                )
                out = self.model.flow.decode(z)[..., dy + pad : dy + pad + h, dx + pad : dx + pad + w]
                total = out if total is None else total + out
        return (total / len(shifts)).clamp(0, 1).cpu()

    def stylize(self, content: ImageLike, styles: ImageLike | Sequence[ImageLike], **options) -> Image.Image:
        """Stylize `content` with one or several styles; returns an RGB PIL image.

        Options: method, alpha, style_weights, blend, size, style_size, pad, pad_mode,
        max_keys, seed, phases (see `stylize`).
        """
        return tensor_to_image(self.stylize_tensor(content, styles, **options))

    def _check_options(self, method, alpha, weights, n_styles, blend, pad, pad_mode, max_keys) -> None:
        if method not in OPERATORS:
            raise FlowstyleError(f"unknown method {method!r}; choose from {', '.join(OPERATORS)}")
        if method == "adaattn" and self.model.adaattn is None:
            raise FlowstyleError("this model has no AdaAttN module; use method adain or wct")
        if not 0.0 <= alpha <= 1.0:
            raise FlowstyleError(f"alpha must be between 0 and 1, got {alpha}")
        if blend not in BLENDS:
            raise FlowstyleError(f"blend must be one of {', '.join(BLENDS)}, got {blend!r}")
        if pad < 0:
            raise FlowstyleError(f"pad must be >= 0, got {pad}")
        if pad_mode not in PAD_MODES:
            raise FlowstyleError(f"pad mode must be one of {', '.join(PAD_MODES)}, got {pad_mode!r}")
        if max_keys is not None and max_keys < 1:
            raise FlowstyleError(f"max_keys must be positive, got {max_keys}")
        try:
            normalize_weights(weights, n_styles)
        except ValueError as exc:
            raise FlowstyleError(str(exc)) from None


_STYLIZERS: dict[tuple, Stylizer] = {}


def stylize(
    content: ImageLike,
    styles: ImageLike | Sequence[ImageLike],
    model: ModelLike = DEFAULT_MODEL,
    method: str | None = None,
    alpha: float = 1.0,
    style_weights: Sequence[float] | None = None,
    blend: str = "outputs",
    size: int | None = None,
    pad: int = 64,
    pad_mode: str = "reflect",
    max_keys: int | None = None,
    seed: int = 0,
    phases: int = 1,
    style_size: int | None = None,
    device: str | torch.device = "cpu",
) -> Image.Image:
    """Paint `content` in the style of `styles` (one or a list); returns an RGB PIL image.

    content/styles: paths, PIL images or (3, H, W) tensors in [0, 1]. method: adain | wct |
    adaattn (default: the model's own). alpha: 1 = full style, 0 = content. style_weights and
    blend ("outputs": sum of per-style results, any sizes; "latents": one transfer with the
    blended style latent, same-size styles). size: longest side of the content (and styles).
    pad/pad_mode: border padding against edge artifacts. max_keys/seed: AdaAttN key sampling.
    phases: average over squeeze phases (1, 2, 4 or all) against the grid pattern.
    """
    if isinstance(model, StyleModel):
        stylizer = Stylizer(model, device)
    else:
        key = (str(model), str(device))
        if key not in _STYLIZERS:
            _STYLIZERS[key] = Stylizer(model, device)
        stylizer = _STYLIZERS[key]
    return stylizer.stylize(
        content, styles, method=method, alpha=alpha, style_weights=style_weights, blend=blend,
        size=size, style_size=style_size, pad=pad, pad_mode=pad_mode, max_keys=max_keys,
        seed=seed, phases=phases,
    )

"""The stylize pipeline: load -> resize -> pad -> encode -> transfer -> decode -> crop.

`Stylizer` holds one model and caches encoded styles, so one style over many contents is
encoded once. `stylize` is the one-call convenience over it.

Large images: the flow runs in overlapping row bands (`flowstyle.tiling`, exact), chosen
automatically from an activation-memory estimate, while the operators see the whole latent
(their statistics are global; a latent is only 12 bytes per pixel). Speed: inference mode,
channels-last convolution weights on the CPU, and an optional bfloat16 path for the flow.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Union

import torch
from PIL import Image
from torch import Tensor
from torch.nn import functional as F

from ..errors import FlowstyleError
from ..flow.tiling import auto_tile_rows, tiled_decode, tiled_encode
from ..image.io import ImageLike, load_tensor, tensor_to_image
from ..image.transforms import PAD_MODES, center_crop_to_multiple, pad_to_multiple, resize_longest
from ..image.transforms import pad as pad_image
from ..models import DEFAULT_MODEL, StyleModel, load_model
from ..image.color import grey, keep_luminance
from ..operators import BLENDS, OPERATORS, normalize_weights, transfer
from .regions import MaskLike, latent_regions, pad_regions, region_weights

PRECISIONS = ("float32", "bf16")
# The flow runs in bands, so memory is set by the whole-image tensors (image, padded image,
# content and style latents, the operator's temporaries: ~10 x 12 bytes per pixel): 40 MP
# (e.g. 8K x 5K; 4096x4096 and 12 MP phone photos fit easily) needs about 5 GB.
MAX_PIXELS = 40_000_000
MAX_GAIN = 3.0  # beyond this the extrapolated latent leaves the range the decoder was trained on
ModelLike = Union[str, os.PathLike, StyleModel]
_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TORCH_NUM_THREADS")


def configure_threads() -> int:
    """Use every CPU this process may run on, unless the user chose a thread count.

    torch defaults to the physical cores it detects, which can be fewer than the CPUs a
    container or affinity mask grants; an explicit OMP/MKL setting always wins, and a count
    the user already raised with torch.set_num_threads is never lowered.
    """
    if not any(os.environ.get(name) for name in _THREAD_ENV):
        available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        if torch.get_num_threads() < available:
            torch.set_num_threads(available)
    return torch.get_num_threads()


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


@contextlib.contextmanager
def channels_last_weights(module: torch.nn.Module) -> Iterator[None]:
    """Run with the module's 4-D parameters in channels-last layout, then put the originals back.

    oneDNN convolutions on the CPU are markedly faster channels-last (measured in
    docs/performance.md). Only the layout changes, and the original tensors are restored
    afterwards, so the caller's model computes bit for bit as before outside this block.
    """
    params = [p for p in module.parameters() if p.dim() == 4]
    originals = [p.data for p in params]
    try:
        for p in params:
            p.data = p.data.contiguous(memory_format=torch.channels_last)
        yield
    finally:
        for p, data in zip(params, originals):
            p.data = data


def _check_tile(tile: int | None) -> None:
    if tile is not None and (isinstance(tile, bool) or not isinstance(tile, int) or tile < 0):
        raise FlowstyleError(f"tile must be None (automatic), 0 (never) or a positive row count, got {tile!r}")


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
    """A loaded model plus a cache of encoded styles: the object to keep for batch work.

    precision: "float32" (default, exactly invertible) or "bf16" (bfloat16 autocast for the
    flow's convolutions; faster on CPUs with bf16 units, output within ~1/255 of float32 —
    see docs/performance.md). The operators always run in float32 (WCT in float64).
    On the CPU each flow pass runs with channels-last convolution weights (faster there).
    """

    def __init__(
        self,
        model: ModelLike = DEFAULT_MODEL,
        device: str | torch.device = "cpu",
        cache_size: int = 32,
        precision: str = "float32",
    ) -> None:
        if precision not in PRECISIONS:
            raise FlowstyleError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.device = torch.device(device)
        self.precision = precision
        self.model = model if isinstance(model, StyleModel) else load_model(model)
        self.model.to(self.device).eval()
        self.cache_size = cache_size
        self._style_cache: OrderedDict[tuple, Tensor] = OrderedDict()
        self._tile: int | None = None  # the tile setting of the stylize call in progress

    @property
    def multiple(self) -> int:
        return self.model.config.multiple

    @contextlib.contextmanager
    def _flow_pass(self) -> Iterator[None]:
        """The settings of every flow pass: weights layout and precision."""
        with contextlib.ExitStack() as stack:
            if self.device.type == "cpu":
                stack.enter_context(channels_last_weights(self.model.flow))
            if self.precision == "bf16":
                stack.enter_context(torch.autocast(self.device.type, dtype=torch.bfloat16))
            yield

    def _tile_rows(self, height: int, width: int) -> int | None:
        """Band height for one flow pass over an image of this size; None runs it whole."""
        if self._tile is None:
            element_bytes = 2 if self.precision == "bf16" else 4
            return auto_tile_rows(self.model.config, height, width, element_bytes=element_bytes)
        return self._tile or None

    def _encode(self, x: Tensor) -> Tensor:
        x = x.to(self.device)
        rows = self._tile_rows(*x.shape[-2:])
        with self._flow_pass():
            z = self.model.flow.encode(x) if rows is None else tiled_encode(self.model.flow, x, rows)
        return z.float()

    def _decode(self, z: Tensor) -> Tensor:
        m = self.multiple
        rows = self._tile_rows(z.shape[-2] * m, z.shape[-1] * m)
        with self._flow_pass():
            x = self.model.flow.decode(z) if rows is None else tiled_decode(self.model.flow, z, rows)
        return x.float()

    def encode_style(self, style: ImageLike, size: int | None) -> Tensor:
        """Encode one style at `size` (longest side), centre-cropped to a multiple; cached.

        Cached per Stylizer, so per precision; tiling does not change the result.
        """
        key = _fingerprint(style)
        cache_key = (key, size)
        if key is not None and cache_key in self._style_cache:
            self._style_cache.move_to_end(cache_key)
            return self._style_cache[cache_key]
        x = resize_longest(load_tensor(style), size)
        _check_size(x, self.multiple, "style image")
        x = center_crop_to_multiple(x, self.multiple)
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
        phases: int | None = None,
        tile: int | None = None,
        gain: float | None = None,
        preserve_color: bool = False,
        mask: MaskLike | None = None,
        mask_feather: float = 4.0,
    ) -> Tensor:
        """Like `stylize` but returns a (1, 3, H, W) float tensor in [0, 1] (no 8-bit rounding).

        tile: the flow's band height in image rows at its first block, deeper blocks using
        bands of the same activation size (None: automatic, from memory and speed limits;
        0: never tile); any value gives the untiled result up to float rounding.
        """
        method = method or self.model.method
        phases, gain = self.grid_fix(phases, gain)
        styles = list(styles) if isinstance(styles, (list, tuple)) else [styles]
        self._check_options(method, alpha, style_weights, len(styles), blend, pad, pad_mode, max_keys, gain)
        _check_mask_options(mask, style_weights, blend, mask_feather)
        _check_tile(tile)
        previous, self._tile = self._tile, tile
        try:
            return self._stylize(content, styles, method, alpha * gain, style_weights, blend, size,
                                 style_size, pad, pad_mode, max_keys, seed, phases,
                                 preserve_color, mask, mask_feather)
        finally:
            self._tile = previous

    def grid_fix(self, phases: int | None, gain: float | None) -> tuple[int, float]:
        """The phases and gain a call uses: the model's recommendation (docs/grid.md) unless given.

        Averaging over squeeze phases removes the grid but also softens the style a little;
        `gain` > 1 scales the latent change T(z_c) - z_c to restore it. A model stores the gain
        chosen (on validation pairs) for its `default_phases`, so it applies with those phases.
        """
        default_phases = int(self.model.info.get("default_phases", 1))
        phases = default_phases if phases is None else phases
        if gain is None:
            gain = float(self.model.info.get("default_gain", 1.0)) if phases == default_phases else 1.0
        return phases, gain

    def _stylize(self, content, styles, method, alpha, style_weights, blend, size, style_size,
                 pad, pad_mode, max_keys, seed, phases, preserve_color=False, mask=None,
                 mask_feather=0.0) -> Tensor:
        x = resize_longest(load_tensor(content), size)
        _check_size(x, self.multiple, "content image")
        h, w = x.shape[-2:]
        shifts = phase_shifts(phases, self.multiple)
        m = self.multiple
        padded_regions = None
        if mask is not None:  # before the styles are encoded: a bad mask fails early
            padded_regions = pad_regions(region_weights(mask, len(styles), h, w, mask_feather), pad, m)
        content_rgb = None
        if preserve_color:  # luminance-only transfer, the content's chroma put back at the end
            content_rgb, x = x, grey(x)
            styles = [grey(load_tensor(s)) for s in styles]
        z_styles = [self.encode_style(s, style_size or max(h, w)) for s in styles]
        base = pad_to_multiple(x, pad, m, pad_mode)
        del x  # large images: keep only the padded copy alive
        total = None
        with torch.inference_mode():
            for dy, dx in shifts:
                shifted = pad_image(base, dx, (m - dx) % m, dy, (m - dy) % m, pad_mode)
                z_c = self._encode(shifted)
                del shifted
                regions = None if padded_regions is None else latent_regions(padded_regions, dy, dx, m).to(z_c.device)
                z = transfer(
                    method, z_c, z_styles, alpha, style_weights, blend,
                    self.model.adaattn, max_keys, seed, regions,
                )
                del z_c
                out = self._decode(z)[..., dy + pad : dy + pad + h, dx + pad : dx + pad + w]
                del z
                total = out.clone() if total is None else total.add_(out)
                del out
        out = (total / len(shifts)).clamp_(0, 1).cpu()  # a normal tensor, not an inference one
        if content_rgb is not None:
            out = keep_luminance(out, content_rgb.cpu())
        return out

    def stylize(self, content: ImageLike, styles: ImageLike | Sequence[ImageLike], **options) -> Image.Image:
        """Stylize `content` with one or several styles; returns an RGB PIL image.

        Options: method, alpha, style_weights, blend, size, style_size, pad, pad_mode,
        max_keys, seed, phases, gain, tile (see `stylize` and `stylize_tensor`).
        """
        return tensor_to_image(self.stylize_tensor(content, styles, **options))

    def _check_options(self, method, alpha, weights, n_styles, blend, pad, pad_mode, max_keys, gain) -> None:
        if method not in OPERATORS:
            raise FlowstyleError(f"unknown method {method!r}; choose from {', '.join(OPERATORS)}")
        if method == "adaattn" and self.model.adaattn is None:
            raise FlowstyleError("this model has no AdaAttN module; use method adain or wct")
        if not 0.0 <= alpha <= 1.0:
            raise FlowstyleError(f"alpha must be between 0 and 1, got {alpha}")
        if not 0.0 < gain <= MAX_GAIN:
            raise FlowstyleError(f"gain must be above 0 and at most {MAX_GAIN}, got {gain}")
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


def _check_mask_options(mask, style_weights, blend, feather) -> None:
    if mask is None:
        return
    if style_weights is not None:
        raise FlowstyleError("style weights do not apply with a mask: the mask gives each style its share")
    if blend != "outputs":
        raise FlowstyleError("a mask needs blend 'outputs' (each region is transferred with its own style)")
    if not feather >= 0:
        raise FlowstyleError(f"mask_feather must be >= 0 px, got {feather}")


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
    phases: int | None = None,
    gain: float | None = None,
    style_size: int | None = None,
    device: str | torch.device = "cpu",
    tile: int | None = None,
    precision: str = "float32",
    preserve_color: bool = False,
    mask: MaskLike | None = None,
    mask_feather: float = 4.0,
) -> Image.Image:
    """Paint `content` in the style of `styles` (one or a list); returns an RGB PIL image.

    content/styles: paths, PIL images or (3, H, W) tensors in [0, 1]. method: adain | wct |
    adaattn (default: the model's own). alpha: 1 = full style, 0 = content. style_weights and
    blend ("outputs": sum of per-style results, any sizes; "latents": one transfer with the
    blended style latent, same-size styles). size: longest side of the content (and styles).
    pad/pad_mode: border padding against edge artifacts. max_keys/seed: AdaAttN key sampling.
    phases: average over squeeze phases (1, 2, 4 or all) against the grid pattern
    (None: the model's recommendation, stored in its weights file). gain: scales the latent
    change T(z_c) - z_c; values > 1 restore the style strength that phase averaging softens
    (None: the model's recommended gain with its default phases, else 1).
    tile: the flow's band height in rows for large images (None: automatic, 0: never).
    precision: "float32" or "bf16" (faster flow on CPUs with bf16 units; not bit-exact).
    preserve_color: keep the content's colours (CIELAB chroma), take only the style's lightness
    structure and texture. mask: a grey or label image giving each region of the content its own
    style (see flowstyle.pipeline.regions); mask_feather: its soft edge, Gaussian sigma in px.
    """
    if isinstance(model, StyleModel):
        stylizer = Stylizer(model, device, precision=precision)
    else:
        key = (str(model), str(device), precision)
        if key not in _STYLIZERS:
            _STYLIZERS[key] = Stylizer(model, device, precision=precision)
        stylizer = _STYLIZERS[key]
    return stylizer.stylize(
        content, styles, method=method, alpha=alpha, style_weights=style_weights, blend=blend,
        size=size, style_size=style_size, pad=pad, pad_mode=pad_mode, max_keys=max_keys,
        seed=seed, phases=phases, gain=gain, tile=tile, preserve_color=preserve_color,
        mask=mask, mask_feather=mask_feather,
    )

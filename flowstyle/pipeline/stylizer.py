"""The stylize pipeline: load -> resize -> pad -> encode -> transfer -> decode -> crop.

`Stylizer` holds one model and caches encoded styles, so one style over many contents is
encoded once. `stylize` is the one-call convenience over it. What a call does is a
`StylizeOptions` (pipeline/options.py), checked there once.

Large images: the flow runs in overlapping row bands (`flowstyle.tiling`, exact), chosen
automatically from an activation-memory estimate, while the operators see the whole latent
(their statistics are global; a latent is only 12 bytes per pixel). Speed: inference mode,
channels-last convolution weights on the CPU, and an optional bfloat16 path for the flow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Union

import torch
from PIL import Image
from torch import Tensor

from ..errors import FlowstyleError
from ..flow.tiling import auto_tile_rows, tiled_decode, tiled_encode
from ..image.color import grey, keep_luminance
from ..image.io import ImageLike, load_tensor, tensor_to_image
from ..image.detail import match_detail
from ..image.guided import guided_upsample
from ..image.lattice import remove_lattice
from ..image.transforms import center_crop_to_multiple, pad_to_multiple, resize_longest
from ..models import DEFAULT_MODEL, StyleModel, load_model
from ..flow.precision import PRECISIONS, resolve_precision
from ..operators import TransferSpec, transfer
from ..operators.registry import normalize_weights
from .options import StylizeOptions
from .refine import MAX_REFINE_PIXELS, PASSES_PER_STEP, Targets, refine, refine_passes
from ..flow.phases import average_over_phases, blocks_cost, phase_plan, plan_cost, single_phase
from .regions import latent_regions, pad_regions, region_weights

# The flow runs in bands, so memory is set by the whole-image tensors (image, padded image,
# content and style latents, the operator's temporaries: ~10 x 12 bytes per pixel): 40 MP
# (e.g. 8K x 5K; 4096x4096 and 12 MP phone photos fit easily) needs about 5 GB.
MAX_STYLIZE_PIXELS = 40_000_000  # working memory; image/io.py MAX_PIXELS bounds decoding a file
ModelLike = Union[str, os.PathLike, StyleModel]
# progress(fraction done in [0, 1], what runs next in plain words): told between the steps of a call
Progress = Callable[[float, str], None]
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


def _check_size(x: Tensor, multiple: int, what: str) -> None:
    h, w = x.shape[-2:]
    if min(h, w) < multiple:
        raise FlowstyleError(f"{what} is too small ({w}x{h}); sides must be at least {multiple} px")
    if h * w > MAX_STYLIZE_PIXELS:
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


def encodes_exactly(method: str) -> bool:
    """Whether `method` needs float32 latents even when the flow runs in bf16: the patch operator's
    choices are discrete, and bf16 rounding of the latents it compares flips near-tied choices
    (on validation pairs up to 7/255 at the 99th percentile against float32; with float32
    encodings 0.1/255, the decoding's rounding alone)."""
    return method == "patch"


class Stylizer:
    """A loaded model plus a cache of encoded styles: the object to keep for batch work.

    precision: "float32" (exactly invertible), "bf16" (bfloat16 autocast for the flow's
    convolutions; faster on CPUs with bf16 units, output within ~1/255 of float32 — see
    docs/performance.md) or "auto" (bf16 where the machine has bf16 units, flow/precision.py);
    None: the model's default, else float32. The operators always run in
    float32 (WCT in float64). On the CPU each flow pass runs with channels-last convolution
    weights (faster there).
    """

    def __init__(
        self,
        model: ModelLike = DEFAULT_MODEL,
        device: str | torch.device = "cpu",
        cache_size: int = 32,
        precision: str | None = None,
    ) -> None:
        self.model = model if isinstance(model, StyleModel) else load_model(model)
        precision = precision or self.model.defaults.precision or "float32"
        if precision not in PRECISIONS:
            raise FlowstyleError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.device = torch.device(device)
        self.precision = resolve_precision(precision, self.device)
        self.model.to(self.device).eval()
        self.cache_size = cache_size
        self._style_cache: OrderedDict[tuple, Tensor] = OrderedDict()

    @property
    def multiple(self) -> int:
        return self.model.config.multiple

    @contextlib.contextmanager
    def _flow_pass(self, exact: bool = False) -> Iterator[None]:
        """The settings of every flow pass: weights layout and precision (float32 if `exact`)."""
        with contextlib.ExitStack() as stack:
            if self.device.type == "cpu":
                stack.enter_context(channels_last_weights(self.model.flow))
            if self.precision == "bf16" and not exact:
                stack.enter_context(torch.autocast(self.device.type, dtype=torch.bfloat16))
            yield

    def _tile_rows(self, height: int, width: int, tile: int | None) -> int | None:
        """Band height for one flow pass over an image of this size; None runs it whole."""
        if tile is None:
            element_bytes = 2 if self.precision == "bf16" else 4
            return auto_tile_rows(self.model.config, height, width, element_bytes=element_bytes)
        return tile or None

    def _encode(
        self, x: Tensor, tile: int | None, start: int = 0, stop: int | None = None, exact: bool = False
    ) -> Tensor:
        """Blocks start..stop-1 (default: the whole flow) on x, banded when large; in float32 if
        `exact` (`encodes_exactly`)."""
        x, flow = x.to(self.device), self.model.flow
        rows = self._tile_rows(x.shape[-2] << start, x.shape[-1] << start, tile)
        with self._flow_pass(exact):
            z = flow.encode_blocks(x, start, stop) if rows is None else tiled_encode(flow, x, rows, start, stop)
        return z.float()

    def _decode(self, z: Tensor, tile: int | None, start: int = 0, stop: int | None = None) -> Tensor:
        flow = self.model.flow
        depth = len(flow.blocks) if stop is None else stop
        rows = self._tile_rows(z.shape[-2] << depth, z.shape[-1] << depth, tile)
        with self._flow_pass():
            x = flow.decode_blocks(z, start, stop) if rows is None else tiled_decode(flow, z, rows, start, stop)
        return x.float()

    def encode_style(self, style: ImageLike, size: int | None, tile: int | None = None, exact: bool = False) -> Tensor:
        """Encode one style at `size` (longest side), centre-cropped to a multiple; cached.

        Cached per Stylizer (so per precision) and `exact`; tiling does not change the result.
        """
        key = _fingerprint(style)
        cache_key = (key, size, exact)
        if key is not None and cache_key in self._style_cache:
            self._style_cache.move_to_end(cache_key)
            return self._style_cache[cache_key]
        x = resize_longest(load_tensor(style), size)
        _check_size(x, self.multiple, "style image")
        x = center_crop_to_multiple(x, self.multiple)
        with torch.inference_mode():
            z = self._encode(x, tile, exact=exact)
        if key is not None:
            self._style_cache[cache_key] = z
            while len(self._style_cache) > self.cache_size:
                self._style_cache.popitem(last=False)
        return z

    def options_for(self, n_styles: int = 1, options: StylizeOptions | None = None, **keywords) -> StylizeOptions:
        """The options a call would use: the given ones with this model's method and recipe filled in."""
        return StylizeOptions.build(options, **keywords).for_model(self.model, n_styles)

    def stylize_tensor(
        self,
        content: ImageLike,
        styles: ImageLike | Sequence[ImageLike],
        options: StylizeOptions | None = None,
        *,
        progress: Progress | None = None,
        **keywords,
    ) -> Tensor:
        """Like `stylize` but returns a (1, 3, H, W) float tensor in [0, 1] (no 8-bit rounding).

        options: a StylizeOptions; keywords (its field names) build one or replace its fields.
        progress: see `stylize`.
        """
        styles = list(styles) if isinstance(styles, (list, tuple)) else [styles]
        opts = self.options_for(len(styles), options, **keywords)
        return self._stylize(content, styles, opts, progress)

    def _stylize(
        self, content: ImageLike, styles: list[ImageLike], o: StylizeOptions, progress: Progress | None = None
    ) -> Tensor:
        """The photo painted (`_paint`), then the recipe's detail lift, once, at the output's size."""
        x = resize_longest(load_tensor(content), o.size)
        out = self._paint(x, styles, o, progress)
        if not o.recipe.detail:
            return out
        side = max(x.shape[-2:])
        painted_side = min(side, o.work_size) if o.work_size else side
        # the styles were encoded at the painted size: in the output their marks are this much larger
        style_side = round((o.style_size or painted_side) * side / painted_side)
        scaled = [resize_longest(load_tensor(s), style_side).to(out) for s in styles]
        regions = None if o.mask is None else region_weights(o.mask, len(styles), *out.shape[-2:], o.mask_feather)
        weights = normalize_weights(o.style_weights, len(styles))
        return match_detail(out, scaled, weights, o.recipe.detail, regions).clamp(0, 1)

    def _paint(
        self, x: Tensor, styles: list[ImageLike], o: StylizeOptions, progress: Progress | None = None
    ) -> Tensor:
        """The photo `x` (1, 3, H, W) painted: at the working size and carried to its own, or whole."""
        _check_size(x, self.multiple, "content image")
        if o.work_size and max(x.shape[-2:]) > o.work_size:
            small = resize_longest(x, o.work_size)
            return guided_upsample(self._paint(small, styles, o.replace(size=None, work_size=0), progress), small, x)
        h, w = x.shape[-2:]
        if o.refine and h * w > MAX_REFINE_PIXELS:
            raise FlowstyleError(
                f"refine works up to {MAX_REFINE_PIXELS / 1e6:g} MP, the photo is {w}x{h}; pass a smaller size"
            )
        recipe = o.recipe  # the whole recipe: `options_for` filled it in
        plan = phase_plan(recipe.phases, self.model.config.n_block, recipe.deep_phases)
        # one phase: the result is the decoded transfer, whose latent refinement starts from
        # (no second encoding)
        keep_latent = bool(o.refine) and single_phase(plan)
        step = _Steps(progress, len(styles), plan, self.model.config.n_block, o.refine, keep_latent)
        m, pad = self.multiple, o.pad
        padded_regions = None
        if o.mask is not None:  # before the styles are encoded: a bad mask fails early
            padded_regions = pad_regions(region_weights(o.mask, len(styles), h, w, o.mask_feather), pad, m)
        content_rgb = None
        if o.preserve_color:  # luminance-only transfer, the content's chroma put back at the end
            content_rgb, x = x, grey(x)
            styles = [grey(load_tensor(s)) for s in styles]
        exact = encodes_exactly(o.method)
        z_styles = []
        for i, s in enumerate(styles):
            step.style(i)
            z_styles.append(self.encode_style(s, o.style_size or max(h, w), o.tile, exact))
        base = pad_to_multiple(x, pad, m, o.pad_mode).to(self.device)
        del x  # large images: keep only the padded copy alive

        spec = TransferSpec(
            o.method, o.alpha * recipe.gain, o.style_weights, o.blend, self.model.adaattn, recipe.max_keys, recipe.seed,
            anchor=recipe.anchoring, balance=recipe.balance, marks=recipe.marks,
        )

        transferred: list[Tensor] = []

        def at_latent(z_c: Tensor, shift: tuple[int, int]) -> Tensor:
            step.transfer()
            if padded_regions is None:
                z = transfer(spec, z_c, z_styles)
            else:
                regions = latent_regions(padded_regions, *shift, m).to(z_c.device)
                z = transfer(dataclasses.replace(spec, regions=regions), z_c, z_styles)
            if keep_latent:
                transferred.append(z)
            return z

        def encode(t: Tensor, start: int, stop: int) -> Tensor:
            step.flow("encode", start, stop)
            return self._encode(t, o.tile, start, stop, exact=exact)

        def decode(z: Tensor, start: int, stop: int) -> Tensor:
            step.flow("decode", start, stop)
            return self._decode(z, o.tile, start, stop)

        with torch.inference_mode():
            total = average_over_phases(base, plan, encode, decode, at_latent, o.pad_mode)
        if o.refine:
            total = self._refine(total, base, styles, o, (h, w), step, transferred[0] if transferred else None)
        with torch.inference_mode():
            step.finish()
            total = remove_lattice(total, base, m, recipe.grid_filter, diagonal_sigma=recipe.grid_filter_diagonal)
        del base
        out = total[..., pad : pad + h, pad : pad + w].clamp(0, 1).cpu()  # a normal tensor, not an inference one
        if content_rgb is not None:
            out = keep_luminance(out, content_rgb.cpu())
        step.done()
        return out

    def _refine(
        self, image: Tensor, base: Tensor, styles: list[ImageLike], o: StylizeOptions, size: tuple[int, int],
        step: _Steps, latent: Tensor | None = None,
    ) -> Tensor:
        """The phase-averaged result, refined in its latent towards the styles (pipeline/refine.py);
        latent: the result's own latent where there is one (a single phase), else it is encoded."""
        (h, w), pad = size, o.pad

        def crop(t: Tensor) -> Tensor:
            return t[..., pad : pad + h, pad : pad + w]

        def decode(z: Tensor) -> Tensor:
            with self._flow_pass():
                return self.model.flow.decode_blocks(z).float()

        image, base = image.clone(), base.clone()  # normal tensors: autograd refuses inference ones
        style_tensors = [load_tensor(s).to(self.device) for s in styles]  # Targets shrinks them to LOSS_SIZE
        targets = Targets(crop(base), style_tensors, o.style_weights, bf16=self.precision == "bf16")
        if latent is not None:
            z = latent.clone()  # a normal tensor: autograd refuses inference ones
        else:
            with torch.no_grad():
                z = self._encode(image, o.tile)
        z = refine(z, decode, crop, targets, o.refine, on_step=step.refine)
        with torch.no_grad():
            return self._decode(z, o.tile)

    def stylize(
        self,
        content: ImageLike,
        styles: ImageLike | Sequence[ImageLike],
        options: StylizeOptions | None = None,
        *,
        progress: Progress | None = None,
        **keywords,
    ) -> Image.Image:
        """Stylize `content` with one or several styles; returns an RGB PIL image.

        options: a StylizeOptions (see its fields); keywords build one or replace its fields.
        progress: called as progress(fraction, text) before each step (each style's encoding,
        each flow pass over the photo and back, each transfer) and with 1.0 at the end; the
        fraction grows with the work done (flow blocks weighted by their cost). It only
        observes: the output is the same with or without it.
        """
        return tensor_to_image(self.stylize_tensor(content, styles, options, progress=progress, **keywords))


class _Steps:
    """Counts a call's work for a progress callback: encoding each style (a whole flow pass),
    then for each squeeze phase of the plan the photo's encoding, the transfer and the decoding
    (each block weighted by its cost, 1/4 of the one above: the same width on a quarter of the
    positions), then the lattice filter. Without a callback it does nothing."""

    TRANSFER = 0.25  # a transfer's cost, in units of the first block's pass

    def __init__(
        self, progress: Progress | None, n_styles: int, plan, n_block: int, refine_steps: int = 0,
        refines_transfer: bool = False,
    ) -> None:
        self.progress = progress
        if progress is None:
            return
        self.refine_steps = refine_steps
        # refinement's cost besides its steps: the final decoding, and the result's encoding
        # unless the transfer's own latent is refined
        self.refine_extra = refine_passes(1, not refines_transfer) - PASSES_PER_STEP
        self.n_styles, self.whole = n_styles, blocks_cost(0, n_block)
        calls, one_way = plan_cost(plan)
        flow = 2 * one_way  # encoded and decoded
        self.passes, self.pass_index, self.done_units = calls, 0, 0.0
        refining = refine_passes(refine_steps, not refines_transfer) * self.whole
        self.total = n_styles * self.whole + flow + calls * self.TRANSFER + refining + 0.1 * self.whole

    def _tell(self, text: str, units: float) -> None:
        self.progress(min(self.done_units / self.total, 1.0), text)
        self.done_units += units

    def _of(self, index: int) -> str:
        return f" (pass {index} of {self.passes})" if self.passes > 1 else ""

    def style(self, index: int) -> None:
        if self.progress is not None:
            of = f" {index + 1} of {self.n_styles}" if self.n_styles > 1 else ""
            self._tell(f"Reading the style{of}", self.whole)

    def flow(self, direction: str, start: int, stop: int) -> None:
        if self.progress is not None:
            if direction == "encode":
                self._tell(f"Reading the photo{self._of(self.pass_index + 1)}", blocks_cost(start, stop))
            else:
                self._tell(f"Painting the picture{self._of(self.pass_index)}", blocks_cost(start, stop))

    def transfer(self) -> None:
        if self.progress is not None:
            self.pass_index += 1
            self._tell(f"Applying the style{self._of(self.pass_index)}", self.TRANSFER)

    def refine(self, index: int) -> None:
        if self.progress is not None:
            extra = self.refine_extra * self.whole if index == 0 else 0.0
            self._tell(f"Refining the strokes (step {index + 1} of {self.refine_steps})", PASSES_PER_STEP * self.whole + extra)

    def finish(self) -> None:
        if self.progress is not None:
            self._tell("Smoothing the result", 0.1 * self.whole)

    def done(self) -> None:
        if self.progress is not None:
            self.progress(1.0, "Done")


_STYLIZERS: dict[tuple, Stylizer] = {}


def stylize(
    content: ImageLike,
    styles: ImageLike | Sequence[ImageLike],
    model: ModelLike = DEFAULT_MODEL,
    options: StylizeOptions | None = None,
    *,
    device: str | torch.device = "cpu",
    precision: str | None = None,
    **keywords,
) -> Image.Image:
    """Paint `content` in the style of `styles` (one or a list); returns an RGB PIL image.

    content/styles: paths, PIL images or (3, H, W) tensors in [0, 1]. model: a registry name,
    a weights file or a StyleModel. options: a StylizeOptions; or its fields as keywords
    (method, alpha, style_weights, blend, size, style_size, work_size, quality, preserve_color, refine, mask,
    mask_feather, tile, pad, pad_mode, recipe — see `StylizeOptions`), which also replace fields of `options`. recipe: experts' changes to
    the model's tuning, e.g. recipe={"phases": 4, "gain": 1.2} (see `flowstyle.Recipe`).
    precision: "float32" or "bf16" (faster flow on CPUs with bf16 units; not bit-exact);
    None: the model's default.
    """
    opts = StylizeOptions.build(options, **keywords)  # bad options fail before a model loads
    if isinstance(model, StyleModel):
        stylizer = Stylizer(model, device, precision=precision)
    else:
        key = (str(model), str(device), precision)
        if key not in _STYLIZERS:
            _STYLIZERS[key] = Stylizer(model, device, precision=precision)
        stylizer = _STYLIZERS[key]
    return stylizer.stylize(content, styles, opts)

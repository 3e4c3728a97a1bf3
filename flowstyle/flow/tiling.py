"""Row-banded encode/decode: any resolution in bounded memory, with results equal to untiled.

Why this is exact: every layer of the flow is local. ActNorm and the invertible 1x1
convolutions are pointwise, squeezes only regroup aligned 2x2 blocks, and each coupling net
has two 3x3 convolutions (zero "same" padding) and one 1x1, so a coupling's output row
depends on input rows at most `coupling_halo` (= 2) rows away. We therefore walk the flow
step by step: each step runs on horizontal bands of the latent, each band widened by that
halo and clipped to the latent, and keeps only its own rows. Rows next to an interior cut
see zero padding instead of their real neighbours, but those errors reach at most the halo,
which is cropped away; bands at the top and bottom are clipped to the latent, so they see
exactly the zero padding the untiled flow sees there. Squeezes run on the whole latent.

Banding per step (instead of running the whole flow on haloed image tiles) keeps the
recomputed halo to 2 latent rows per coupling instead of the flow's full receptive radius
(sum over blocks l of 2 * n_flow * 2**l image rows: 96 for 2 blocks x 8 steps), so tiling
costs a few percent of time rather than 40-100%. Memory: the coupling nets' hidden activations (width channels at a
quarter of the pixels) dominate a pass; bands bound them, while the latent itself (12 bytes
per pixel, two copies during a step) stays whole.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from .layers import FlowStep
from .model import ArtFlow, FlowConfig

FLOAT_BYTES = 4
# Live hidden tensors of a coupling net at peak (conv output, ReLU'd copy, next conv's output,
# the convolution's workspace); calibrated against measured peak RSS on the CPU (~3.6).
LIVE_ACTIVATIONS = 4
DEFAULT_BUDGET_BYTES = 2**30
# Speed: bands whose first-block hidden activations stay under this size run 1.3-1.7x faster
# than whole passes from 0.25 MP up (docs/performance.md): glibc serves blocks this small from
# its heap instead of mapping fresh pages the kernel must zero (its ceiling is 32 MiB), and
# they stay in cache between the three convolutions of a coupling net.
SPEED_BAND_BYTES = 16 * 2**20
MIN_BAND_ROWS = 64  # below this the recomputed halo (2 latent rows a side) costs more than it saves


def coupling_halo(step: FlowStep) -> int:
    """Latent rows a step's output row depends on, per side: the coupling convs' radii summed."""
    if step.coupling is None:
        return 0
    return sum(
        (m.kernel_size[0] - 1) // 2 * m.dilation[0] for m in step.coupling.net.modules() if isinstance(m, nn.Conv2d)
    )


def activation_bytes_per_pixel(config: FlowConfig) -> float:
    """Estimated peak bytes per image pixel of the coupling activations in one flow pass.

    The first block's coupling nets dominate: `width` hidden channels at H/2 x W/2 positions.
    """
    return config.width / 4 * FLOAT_BYTES * LIVE_ACTIVATIONS


def auto_tile_rows(
    config: FlowConfig,
    height: int,
    width: int,
    budget_bytes: int = DEFAULT_BUDGET_BYTES,
    element_bytes: int = FLOAT_BYTES,
) -> int | None:
    """Band height in image rows for one flow pass over a (height, width) image; None: whole.

    Two limits, the smaller wins: memory (the pass's coupling activations stay under
    `budget_bytes`) and speed (one first-block hidden activation, `width` channels at half
    resolution in `element_bytes`, stays under SPEED_BAND_BYTES, unless the whole image's is
    at most twice that: measured, such sizes run fastest whole). Bands are at least
    MIN_BAND_ROWS high, a multiple of the flow's size multiple.
    """
    memory_rows = budget_bytes // (activation_bytes_per_pixel(config) * width)
    speed_rows = SPEED_BAND_BYTES // (config.width * width * element_bytes / 4)
    if 2 * speed_rows >= height:  # whole-image activations within glibc's heap ceiling: no gain
        speed_rows = height
    m = config.multiple
    rows = max(MIN_BAND_ROWS, int(min(memory_rows, speed_rows))) // m * m
    return None if rows >= height else rows


def _check_tile(tile_rows: int) -> int:
    if not isinstance(tile_rows, int) or isinstance(tile_rows, bool) or tile_rows < 1:
        raise ValueError(f"tile rows must be a positive integer, got {tile_rows!r}")
    return tile_rows


def _banded(fn: Callable[[Tensor], Tensor], x: Tensor, band: int, halo: int) -> Tensor:
    """`fn(x)` for a shape-preserving `fn` whose output rows depend on input rows within `halo`,
    computed `band` rows at a time. The result keeps x's dtype (float32 between steps even
    under bf16 autocast)."""
    height = x.shape[-2]
    if band >= height:
        return fn(x).to(x.dtype)
    out = torch.empty_like(x)
    for start in range(0, height, band):
        end = min(height, start + band)
        lo, hi = max(0, start - halo), min(height, end + halo)
        out[..., start:end, :] = fn(x[..., lo:hi, :])[..., start - lo : end - lo, :]
    return out


def _band_rows(tile_rows: int, level: int) -> int:
    """Latent rows per band at `level`: `tile_rows` image rows at the first block, and bands of
    the same activation size deeper down (half the width, so twice the rows per level), which
    halves the recomputed halo share at each deeper block."""
    return max(1, (tile_rows >> 1) << (level - 1))


def tiled_encode(flow: ArtFlow, x: Tensor, tile_rows: int, start: int = 0, stop: int | None = None) -> Tensor:
    """`flow.encode_blocks(x, start, stop)` computed in bands of about `tile_rows` image rows;
    equal to untiled.

    The flow must be initialised (an uninitialised ActNorm would initialise itself from the
    first band only).
    """
    if not flow.initialized:
        raise ValueError("tiled encoding needs an initialised flow (ActNorm has not seen data)")
    if start == 0 and stop is None:
        flow.check_size(x.shape[-2], x.shape[-1])
    tile_rows = _check_tile(tile_rows)
    if tile_rows >= x.shape[-2] << start:
        return flow.encode_blocks(x, start, stop)
    stop = len(flow.blocks) if stop is None else stop
    for level in range(start + 1, stop + 1):
        block = flow.blocks[level - 1]
        x = block.squeeze(x)
        for step in block.steps:
            x = _banded(step, x, _band_rows(tile_rows, level), coupling_halo(step))
    return x


def tiled_decode(flow: ArtFlow, z: Tensor, tile_rows: int, start: int = 0, stop: int | None = None) -> Tensor:
    """`flow.decode_blocks(z, start, stop)` computed in bands of about `tile_rows` image rows;
    equal to untiled."""
    tile_rows = _check_tile(tile_rows)
    stop = len(flow.blocks) if stop is None else stop
    if tile_rows >= z.shape[-2] << stop:
        return flow.decode_blocks(z, start, stop)
    for level in range(stop, start, -1):
        block = flow.blocks[level - 1]
        for step in reversed(block.steps):
            z = _banded(step.reverse, z, _band_rows(tile_rows, level), coupling_halo(step))
        z = block.squeeze.reverse(z)
    return z


def coupling_macs(config: FlowConfig, height: int, width: int) -> int:
    """Multiply-adds of all coupling convolutions for one flow pass over a height x width image.

    Per coupling at a level with C channels and P positions: conv3x3 (C/2 -> W), conv1x1
    (W -> W), conv3x3 (W -> C/2 additive, or C affine). Encode and decode cost the same.
    """
    m = config.multiple
    if height % m or width % m:
        raise ValueError(f"image sides must be multiples of {m}, got {height}x{width}")
    total = 0
    channels = 3
    for level in range(1, config.n_block + 1):
        channels *= 4
        positions = (height >> level) * (width >> level)
        half = channels // 2
        out = half if config.coupling == "additive" else channels
        per_position = 9 * half * config.width + config.width * config.width + 9 * config.width * out
        total += config.n_flow * per_position * positions
    return total

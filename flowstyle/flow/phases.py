"""Squeeze-phase averaging against the grid, and how it shares work between the flow's blocks.

Each block's squeeze groups pixels on a fixed 2x2 lattice of its input, so a single pass leaves a
faint period-2 / period-4 grid (docs/grid.md). Averaging the outputs for shifted copies of the
content cancels it. A *plan* says which shifts, at which level of the flow:

- 1, 2 or 4 phases: whole-flow passes for pixel shifts (none, the diagonal, {0,1}^2);
- deep phases (`deep_phases` 2 or 4, flows of two or more blocks): the shallower blocks for
  `phases` shifts of their own lattice, and on each of their outputs the deepest block for its own
  2 or 4 phases (1 x 4: the deepest lattice averaged at about 1.9 passes' cost; training's path);
- all phases (16 for two blocks): nested, i.e. 4 x 4 deep phases. Block 1 runs for its four
  phases; on each of its outputs block 2 runs for its own four phases (shifted in block 1's
  space, i.e. by 2 px), and
  block 2's decoded outputs are averaged in block 1's space before block 1 decodes. That covers
  every pixel shift in {0..3}^2 like 16 whole passes, but runs block 1 four times instead of 16:
  about half the cost (measured on the xval split: same grid ratio and style match,
  docs/grid.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from ..errors import FlowstyleError
from ..image.transforms import pad as pad_image
from ..image.transforms import phase_shifts

Shift = tuple[int, int]
LATENT_PAD_MODE = "reflect"  # how a block's input is extended when it is not the image


@dataclass(frozen=True)
class PhaseLevel:
    """Blocks start..stop-1 (0-based), run once per shift of their input; shifts are in units of
    that input's positions (2**start image pixels)."""

    start: int
    stop: int
    shifts: tuple[Shift, ...]


def phase_plan(phases: int, n_block: int, deep_phases: int = 1) -> tuple[PhaseLevel, ...]:
    """The plan for `phases` squeeze phases of an `n_block` flow (checks the counts).

    deep_phases > 1 (flows of two or more blocks): the shallower blocks run for `phases` pixel
    shifts of their own lattice (1, 2 or 4) and, on each of their outputs, the deepest block for
    `deep_phases` of its own squeeze phases (1, 2 or 4). One shallow pass with four deep phases
    averages the deepest block's 4 px lattice at about 1.9 passes' cost, leaving only the
    shallower blocks' 2 px lattice, which the lattice filter takes out (docs/grid.md)."""
    if deep_phases != 1:
        if n_block < 2:
            raise FlowstyleError("deep phases need a flow of two or more blocks; a one-block flow averages its only block with phases")
        deep = tuple(phase_shifts(deep_phases, 2))
        upper = tuple(phase_shifts(phases, 2 ** (n_block - 1)))  # pixel shifts of the shallower blocks' lattice
        return (PhaseLevel(0, n_block - 1, upper), PhaseLevel(n_block - 1, n_block, deep))
    shifts = tuple(phase_shifts(phases, 2**n_block))
    if n_block > 1 and phases == 4**n_block:
        four = tuple(phase_shifts(4, 2))
        return tuple(PhaseLevel(b, b + 1, four) for b in range(n_block))
    return (PhaseLevel(0, n_block, shifts),)


def blocks_cost(start: int, stop: int) -> float:
    """One pass of blocks start..stop-1 in units of the first block's pass: each block costs 1/4
    of the one above it (the same width on a quarter of the positions)."""
    return sum(0.25**b for b in range(start, stop))


def plan_cost(plan: tuple[PhaseLevel, ...]) -> tuple[int, float]:
    """(passes blended, the plan's flow cost one way in `blocks_cost` units): each level runs once
    per shift, for each call of the level above."""
    calls, cost = 1, 0.0
    for level in plan:
        calls *= len(level.shifts)
        cost += calls * blocks_cost(level.start, level.stop)
    return calls, cost


def single_phase(plan: tuple[PhaseLevel, ...]) -> bool:
    """Whether the plan is one unshifted pass: its one transfer's latent decodes to the result."""
    return all(level.shifts == ((0, 0),) for level in plan)


def deepest_block_plan(phases: int, n_block: int) -> tuple[PhaseLevel, ...]:
    """The flow's shallower blocks once, the deepest block for `phases` (1, 2 or 4) of its own
    squeeze phases (what training averages through, `TrainConfig.phases`)."""
    return phase_plan(1, n_block, phases) if n_block > 1 else phase_plan(phases, 1)


def average_over_phases(
    x: Tensor,
    plan: tuple[PhaseLevel, ...],
    encode: Callable[[Tensor, int, int], Tensor],
    decode: Callable[[Tensor, int, int], Tensor],
    at_latent: Callable[[Tensor, Shift], Tensor],
    pad_mode: str,
) -> Tensor:
    """Decoded `at_latent(encode(x))`, averaged over the plan's shifts; x's shape is kept.

    x: the padded image, sides multiples of 2**n_block. encode/decode(t, start, stop) run blocks
    start..stop-1; at_latent(z, offset) changes the deepest latent, told the total image-pixel
    shift of its phase (for masks). pad_mode fills the image's shifted-in border.
    """
    return _level(x, plan, 0, (0, 0), encode, decode, at_latent, pad_mode)


def _level(x, plan, index, offset, encode, decode, at_latent, pad_mode) -> Tensor:
    level = plan[index]
    multiple = 2 ** (level.stop - level.start)  # what this level's blocks need (deeper levels pad their own)
    mode = pad_mode if index == 0 else LATENT_PAD_MODE
    h, w = x.shape[-2:]
    total = None
    for dy, dx in level.shifts:
        shifted = pad_image(x, dx, (-(w + dx)) % multiple, dy, (-(h + dy)) % multiple, mode)
        z = encode(shifted, level.start, level.stop)
        del shifted
        shift = (offset[0] + (dy << level.start), offset[1] + (dx << level.start))
        if index + 1 < len(plan):
            z = _level(z, plan, index + 1, shift, encode, decode, at_latent, pad_mode)
        else:
            z = at_latent(z, shift)
        out = decode(z, level.start, level.stop)[..., dy : dy + h, dx : dx + w]
        del z
        total = out.clone() if total is None else total.add_(out)
        del out
    return total / len(level.shifts)

"""ArtFlow: a stack of flow blocks mapping an RGB image to a same-size latent and back."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from ..errors import FlowstyleError
from ..fields import option
from .layers import COUPLINGS, SQUEEZES, ActNorm, FlowBlock


@dataclass(frozen=True)
class FlowConfig:
    """Everything needed to rebuild the architecture (stored in every weights file)."""

    n_block: int = option(2, "flow blocks (each squeezes 2x2; image sides become multiples of 2**n)", type=int)
    n_flow: int = option(8, "flow steps per block", type=int)
    n_trans: int = option(0, "transition steps (ActNorm + 1x1 conv) after each squeeze", type=int)
    width: int = option(512, "channels of the coupling networks", type=int)
    coupling: str = option("additive", "coupling layer", choices=COUPLINGS, type=str)
    squeeze: str = option("checkerboard", "space-to-depth layer", choices=SQUEEZES, type=str)

    def __post_init__(self) -> None:
        sizes = (self.n_block, self.n_flow, self.n_trans, self.width)
        if any(isinstance(v, bool) or not isinstance(v, int) for v in sizes):
            raise FlowstyleError(f"flow sizes must be whole numbers: {self}")
        if self.n_block < 1 or self.n_flow < 0 or self.n_trans < 0 or self.width < 1:
            raise FlowstyleError(f"invalid flow sizes (n_block >= 1, n_flow >= 0, n_trans >= 0, width >= 1): {self}")
        if self.coupling not in COUPLINGS:
            raise FlowstyleError(f"coupling must be one of {COUPLINGS}, got {self.coupling!r}")
        if self.squeeze not in SQUEEZES:
            raise FlowstyleError(f"squeeze must be one of {SQUEEZES}, got {self.squeeze!r}")

    @property
    def multiple(self) -> int:
        """Image sides must be multiples of this."""
        return 2**self.n_block

    @property
    def all_phases(self) -> int:
        """The squeeze phase count that visits every pixel shift of the deepest lattice."""
        return self.multiple**2

    @property
    def latent_channels(self) -> int:
        return 3 * 4**self.n_block

    def to_dict(self) -> dict:
        return asdict(self)


class ArtFlow(nn.Module):
    """Reversible encoder/decoder: `decode(encode(x)) == x` up to float error.

    x is RGB in [0, 1] with shape (B, 3, H, W), H and W multiples of 2**n_block; z has
    3 * 4**n_block channels and (H, W) / 2**n_block positions.
    """

    def __init__(self, config: FlowConfig | None = None, seed: int = 0) -> None:
        super().__init__()
        config = FlowConfig() if config is None else config
        if not isinstance(config, FlowConfig):
            raise TypeError(f"ArtFlow takes a FlowConfig, got {type(config).__name__}")
        self.config = config
        generator = torch.Generator().manual_seed(seed)  # the 1x1 convs' random rotations
        blocks = []
        channels = 3
        for _ in range(config.n_block):
            blocks.append(FlowBlock(channels, config.n_flow, config.n_trans, config.width, config.coupling,
                                    config.squeeze, generator))
            channels *= 4
        self.blocks = nn.ModuleList(blocks)

    @property
    def initialized(self) -> bool:
        """True once every ActNorm has seen data (or was loaded initialised)."""
        return all(bool(m.initialized) for m in self.modules() if isinstance(m, ActNorm))

    def check_size(self, height: int, width: int) -> None:
        m = self.config.multiple
        if height % m or width % m or height < m or width < m:
            raise ValueError(f"image sides must be positive multiples of {m}, got {height}x{width}")

    def encode(self, x: Tensor) -> Tensor:
        self.check_size(x.shape[-2], x.shape[-1])
        return self.encode_blocks(x)

    def decode(self, z: Tensor) -> Tensor:
        return self.decode_blocks(z)

    def encode_blocks(self, x: Tensor, start: int = 0, stop: int | None = None) -> Tensor:
        """Blocks start..stop-1 only (0-based): the nested phase averaging (flow/phases.py)
        runs the blocks in segments. x's sides must be multiples of 2**(stop - start)."""
        for block in self.blocks[start:stop]:
            x = block(x)
        return x

    def decode_blocks(self, z: Tensor, start: int = 0, stop: int | None = None) -> Tensor:
        """The inverse of `encode_blocks(., start, stop)`."""
        for block in reversed(self.blocks[start:stop]):
            z = block.reverse(z)
        return z

    def forward(self, x: Tensor) -> Tensor:
        return self.encode(x)

    @torch.no_grad()
    def initialize(self, x: Tensor) -> None:
        """Data-dependent ActNorm initialisation from one batch (a no-op once initialised)."""
        self.encode(x)

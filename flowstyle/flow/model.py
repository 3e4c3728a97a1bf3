"""ArtFlow: a stack of flow blocks mapping an RGB image to a same-size latent and back."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from .layers import COUPLINGS, SQUEEZES, ActNorm, FlowBlock


@dataclass(frozen=True)
class FlowConfig:
    """Everything needed to rebuild the architecture (stored in every weights file)."""

    n_block: int = 2
    n_flow: int = 8
    n_trans: int = 0
    width: int = 512
    coupling: str = "additive"
    squeeze: str = "checkerboard"

    def __post_init__(self) -> None:
        if self.n_block < 1 or self.n_flow < 0 or self.n_trans < 0 or self.width < 1:
            raise ValueError(f"invalid flow sizes: {self}")
        if self.coupling not in COUPLINGS:
            raise ValueError(f"coupling must be one of {COUPLINGS}, got {self.coupling!r}")
        if self.squeeze not in SQUEEZES:
            raise ValueError(f"squeeze must be one of {SQUEEZES}, got {self.squeeze!r}")

    @property
    def multiple(self) -> int:
        """Image sides must be multiples of this."""
        return 2**self.n_block

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

    def __init__(
        self,
        n_block: int = 2,
        n_flow: int = 8,
        n_trans: int = 0,
        width: int = 512,
        coupling: str = "additive",
        squeeze: str = "checkerboard",
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.config = FlowConfig(n_block, n_flow, n_trans, width, coupling, squeeze)
        generator = torch.Generator().manual_seed(seed)
        blocks = []
        channels = 3
        for _ in range(n_block):
            blocks.append(FlowBlock(channels, n_flow, n_trans, width, coupling, squeeze, generator))
            channels *= 4
        self.blocks = nn.ModuleList(blocks)

    @classmethod
    def from_config(cls, config: FlowConfig | dict) -> "ArtFlow":
        cfg = config.to_dict() if isinstance(config, FlowConfig) else dict(config)
        return cls(**cfg)

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
        for block in self.blocks:
            x = block(x)
        return x

    def decode(self, z: Tensor) -> Tensor:
        for block in reversed(self.blocks):
            z = block.reverse(z)
        return z

    def forward(self, x: Tensor) -> Tensor:
        return self.encode(x)

    @torch.no_grad()
    def initialize(self, x: Tensor) -> None:
        """Data-dependent ActNorm initialisation from one batch (a no-op once initialised)."""
        self.encode(x)

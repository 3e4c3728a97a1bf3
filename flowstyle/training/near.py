"""Near pairs for training: styles whose look is already close to a content's.

The cross-source test's last failures are pairs whose content already resembles the style
(clip art on white against other clip art): the output should barely move there, yet it ends
further from the style than the content was. Random pairs almost never are that close, so the
flow never learns it. `TrainConfig.near_pairs` replaces a share of each batch's styles by one
of the training styles nearest to the content crop, nearest by the training style loss itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from ..image.io import atomic_output
from ..operators import mean_std
from .data import ImageFolderDataset
from .losses import STYLE_LAYERS

NEAR_K = 8  # a near pair's style is drawn from this many nearest styles


def style_vector(feats: dict[str, Tensor]) -> Tensor:
    """(B, D) per image: every style layer's channel means and stds, each layer scaled by
    1/sqrt(channels), so that the squared distance of two vectors is `losses.style_loss`."""
    parts = []
    for name in STYLE_LAYERS:
        mean, std = mean_std(feats[name], unbiased=True)
        scale = feats[name].shape[1] ** -0.5
        parts += [mean.flatten(1) * scale, std.flatten(1) * scale]
    return torch.cat(parts, 1)


class StyleIndex:
    """The style vectors of every image of a style dataset (one crop each), to look up the
    styles nearest to a batch of content crops."""

    def __init__(self, vectors: Tensor, files: list[str]) -> None:
        self.vectors = vectors
        self.files = files

    @classmethod
    def build(
        cls, dataset: ImageFolderDataset, vgg: Callable[[Tensor], dict[str, Tensor]], cache: Path | None = None, batch: int = 16
    ) -> StyleIndex:
        """Vectors of `dataset.sample(i, 0)` for every index; reused from `cache` when it was
        built from the same crops (same files, resize, crop and seed: a resumed run), else
        computed and written there."""
        files = [str(f) for f in dataset.files]
        made_from = {"resize": dataset.resize, "crop": dataset.crop, "seed": dataset.seed}
        if cache is not None and cache.exists():
            saved = torch.load(cache, weights_only=True)
            if saved["files"] == files and saved.get("made_from") == made_from:
                return cls(saved["vectors"], files)
        chunks = []
        with torch.no_grad():
            for start in range(0, len(files), batch):
                crops = torch.stack([dataset.sample(i, 0) for i in range(start, min(start + batch, len(files)))])
                chunks.append(style_vector(vgg(crops)).float())
        index = cls(torch.cat(chunks), files)
        if cache is not None:  # written whole or not at all: a killed run rebuilds it
            cache.parent.mkdir(parents=True, exist_ok=True)
            with atomic_output(cache) as tmp:
                torch.save({"files": files, "made_from": made_from, "vectors": index.vectors}, tmp)
        return index

    def nearest(self, vectors: Tensor, k: int | None = None, exclude: list[str | None] | None = None) -> Tensor:
        """(B, k) style indices, nearest first, for (B, D) content vectors (k: NEAR_K). Row i
        skips every entry of the file `exclude[i]` (an art content is never its own style)."""
        k = min(k or NEAR_K, len(self.files))
        distances = torch.cdist(vectors.float(), self.vectors)
        if exclude is not None:
            for row, name in enumerate(exclude):
                if name is not None:
                    distances[row, [i for i, f in enumerate(self.files) if f == name]] = float("inf")
        return distances.topk(k, dim=1, largest=False).indices

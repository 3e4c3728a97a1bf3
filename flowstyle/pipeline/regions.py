"""Region masks: which part of the content takes which style (the `mask` option).

A mask is a grey image (a path, a PIL image, or a 2-D array / tensor). Its distinct grey levels,
darkest first, are regions, assigned to the styles in the order given: a label image with values
0, 1, 2 or a black / grey / white painting both work with three styles. With exactly two styles,
a mask that runs from black to white through other greys is a soft blend instead: grey value v
gives the second style the weight v / 255 (black: the first style, white: the second). A palette
PNG's indices are labels. More regions than styles is an error.

`region_weights` turns a mask into soft per-style weights at the content's size (resized if the
mask's size differs, edges feathered by a Gaussian); `latent_regions` brings them to the latent
the operators see, padded and shifted exactly as the content is.
"""

from __future__ import annotations

import os
from typing import Union

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.nn import functional as F

from ..errors import FlowstyleError
from ..image.filters import gaussian_blur
from ..image.io import open_image
from ..image.transforms import pad as pad_image
from ..image.transforms import pad_to_multiple

MaskLike = Union[str, os.PathLike, Image.Image, np.ndarray, Tensor]
MIN_WEIGHT = 1e-3  # feathered tails below this are dropped, so no region is a sliver of noise


def _mask_array(mask: MaskLike) -> tuple[np.ndarray, float | None]:
    """The mask as a 2-D array of levels, and the value of full white (None for label arrays)."""
    if isinstance(mask, (str, os.PathLike)):
        mask = open_image(mask)
    if isinstance(mask, Image.Image):
        if mask.mode == "P":
            return np.asarray(mask), None  # palette indices are labels
        if mask.mode in ("I", "I;16", "I;16B", "I;16L"):
            return np.asarray(mask.convert("I")), 65535.0
        if mask.mode == "F":
            return np.asarray(mask), 1.0
        return np.asarray(mask.convert("L")), 255.0
    if isinstance(mask, Tensor):
        mask = mask.detach().cpu().numpy()
    if isinstance(mask, np.ndarray):
        if mask.ndim == 3 and mask.shape[0] == 1:
            mask = mask[0]
        if mask.ndim != 2:
            raise FlowstyleError(f"a mask array must be 2-D (height x width), got shape {mask.shape}")
        if mask.dtype == np.uint8:
            return mask, 255.0
        if np.issubdtype(mask.dtype, np.floating):
            return mask, 1.0
        return mask, None
    raise FlowstyleError(f"cannot read a mask from a {type(mask).__name__}")


def region_weights(mask: MaskLike, n_styles: int, height: int, width: int, feather: float = 0.0) -> Tensor:
    """Soft weights (1, n_styles, height, width), summing to 1 over styles at every pixel.

    feather: standard deviation in px of the Gaussian that softens region edges (0: as drawn,
    apart from the resizing's own smoothing).
    """
    levels, white = _mask_array(mask)
    if levels.size == 0:
        raise FlowstyleError("the mask is empty")
    values, labels = np.unique(levels, return_inverse=True)
    labels = labels.reshape(levels.shape)
    if n_styles == 2 and len(values) > 2 and white is not None and values[0] == 0 and values[-1] == white:
        second = torch.from_numpy(np.clip(levels.astype(np.float64) / white, 0.0, 1.0)).float()
        weights = torch.stack([1.0 - second, second])[None]
    elif len(values) > n_styles:
        shown = ", ".join(f"{v:g}" for v in values[:8]) + (", ..." if len(values) > 8 else "")
        raise FlowstyleError(
            f"the mask has {len(values)} regions (levels {shown}) but {n_styles} style(s) were given: "
            "give one style per region, darkest level first (draw the mask without anti-aliasing; "
            "mask_feather makes the soft edges; a two-style blend runs from black to white)"
        )
    else:
        weights = F.one_hot(torch.from_numpy(labels).long(), n_styles).permute(2, 0, 1)[None].float()
    if weights.shape[-2:] != (height, width):
        weights = F.interpolate(weights, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    if feather > 0:
        weights = gaussian_blur(weights, feather)
    weights = torch.where(weights < MIN_WEIGHT, torch.zeros_like(weights), weights.clamp_min(0))
    return weights / weights.sum(1, keepdim=True)


def pad_regions(weights: Tensor, pad: int, multiple: int) -> Tensor:
    """The weights padded as the content is (`pad_to_multiple`), by reflection (any pad mode:
    the padding of a mask must still be a mask)."""
    return pad_to_multiple(weights, pad, multiple, "reflect")


def latent_regions(padded: Tensor, dy: int, dx: int, multiple: int) -> Tensor:
    """Padded weights at the latent's resolution for the squeeze phase (dy, dx): shifted like the
    content, then averaged over each multiple x multiple cell (the pixels one latent position holds)."""
    m = multiple
    shifted = pad_image(padded, dx, (m - dx) % m, dy, (m - dy) % m, "reflect")
    out = F.avg_pool2d(shifted, m)
    return out / out.sum(1, keepdim=True)

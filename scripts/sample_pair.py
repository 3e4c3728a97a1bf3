"""The content/style pair the timing scripts share: scikit-image's astronaut and coffee photos,
as (1, 3, H, W) tensors in [0, 1] with the longest side at `size` px."""

from __future__ import annotations

from PIL import Image
from skimage import data
from torch import Tensor

from flowstyle.image.io import image_to_tensor
from flowstyle.image.transforms import resize_longest


def sample_pair(size: int) -> tuple[Tensor, Tensor]:
    """(content, style) = (astronaut, coffee) at `size` on the longest side."""
    content = resize_longest(image_to_tensor(Image.fromarray(data.astronaut())), size)
    style = resize_longest(image_to_tensor(Image.fromarray(data.coffee())), size)
    return content, style

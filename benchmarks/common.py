"""What the benchmarks share: the sample content/style pair and the machine description.

Run the benchmarks as modules from the repository root (`python -m benchmarks.bench ...`,
or `make bench` / `make bench-train`).
"""

from __future__ import annotations

import os
import platform

import torch
from PIL import Image
from skimage import data
from torch import Tensor

from flowstyle.flow.precision import describe_cpu
from flowstyle.image.io import image_to_tensor
from flowstyle.image.transforms import resize_longest


def sample_pair(size: int) -> tuple[Tensor, Tensor]:
    """(content, style) = scikit-image's astronaut and coffee photos, as (1, 3, H, W) tensors in
    [0, 1] with the longest side at `size` px."""
    content = resize_longest(image_to_tensor(Image.fromarray(data.astronaut())), size)
    style = resize_longest(image_to_tensor(Image.fromarray(data.coffee())), size)
    return content, style


def machine() -> str:
    """One line for a report: CPU (and its bf16 units), CPUs granted, torch and its threads,
    Python, and the load average when the run started (other work skews timings)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", load average {:.1f} at the start".format(os.getloadavg()[0]) if hasattr(os, "getloadavg") else ""
    return (f"{describe_cpu()}, {cores} CPUs, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"Python {platform.python_version()}{load}")

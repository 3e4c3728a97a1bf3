"""What the benchmarks share: the sample pair, the machine description, the thread setting,
the measured matrix throughput and the compute floor of a stylization.

Run the benchmarks as modules from the repository root (`python -m benchmarks.bench ...`,
or `make bench` / `make bench-train`).
"""

from __future__ import annotations

import os
import platform
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

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


def set_threads(threads: int | None) -> None:
    """torch's CPU threads, when asked for (None: leave torch's choice)."""
    if threads:
        torch.set_num_threads(threads)


def matmul_throughput(dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> float | None:
    """Median FLOP/s of an n x n x n matmul after a warm-up (None where the dtype is unsupported)."""
    try:
        a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
        a @ b  # warm-up: allocator, kernel selection
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - start)
    except RuntimeError:
        return None
    return 2 * n**3 / statistics.median(times)


def floor_macs(config, content_hw: tuple[int, int], style_hw: tuple[int, int], method: str, phases: int = 1) -> int:
    """Multiply-adds a stylization cannot avoid: per phase encode + decode of the (padded)
    content, once encode of the (cropped) style — the coupling convolutions
    (`tiling.coupling_macs`) — plus, for AdaAttN, Q K^T (c) and A [V, V^2] (2c) per phase."""
    from flowstyle.flow.tiling import coupling_macs

    macs = phases * 2 * coupling_macs(config, *content_hw) + coupling_macs(config, *style_hw)
    if method == "adaattn":
        m, c = config.multiple, config.latent_channels
        queries = (content_hw[0] // m) * (content_hw[1] // m)
        keys = (style_hw[0] // m) * (style_hw[1] // m)
        macs += phases * queries * keys * 3 * c
    return macs


def run_child(module: str, args: list[str]) -> dict:
    """Run `python -m module args...` from the repository root in a fresh process (a clean
    allocator and peak-memory count per case) and return the JSON of its last output line,
    or {"error": its last stderr line}."""
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=root)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])

"""Shared fixtures: tiny models and small real photos (scikit-image, public domain)."""

from __future__ import annotations

import os
import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from flowstyle.flow import FlowConfig
from flowstyle.models import StyleModel, init_model, save_model

# The suite's one thread policy: 2 threads (the CI machine's cores) unless OMP_NUM_THREADS says
# otherwise; on a busy machine run `OMP_NUM_THREADS=1 make test` (spinning OpenMP threads that
# share a core with other work can be 30x slower).
if not os.environ.get("OMP_NUM_THREADS"):
    torch.set_num_threads(2)


def _photo(name: str, size: int = 64) -> Image.Image:
    img = Image.fromarray(getattr(data, name)()).convert("RGB")
    img.thumbnail((size, size), Image.LANCZOS)
    return img


@pytest.fixture(scope="session")
def photos() -> dict[str, Image.Image]:
    return {n: _photo(n) for n in ("astronaut", "chelsea", "coffee", "rocket")}


@pytest.fixture(scope="session")
def tiny_model() -> StyleModel:
    """2 blocks x 2 flows, width 16, ActNorm-initialised; coupling nets nudged off zero."""
    model = init_model(FlowConfig(n_block=2, n_flow=2, width=16), method="adain", size=64)
    perturb(model, 0.02)
    return model.eval()


@pytest.fixture(scope="session")
def tiny_model_file(tiny_model, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    save_model(tiny_model, path)
    return str(path)


@pytest.fixture(scope="session")
def photo_files(photos, tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("photos")
    paths = {}
    for name, img in photos.items():
        paths[name] = str(folder / f"{name}.png")
        img.save(paths[name])
    return paths


def perturb(model: torch.nn.Module, scale: float, seed: int = 1) -> None:
    """Make the zero-initialised coupling outputs non-trivial, as after training."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))


def rng_image(seed: int, h: int = 32, w: int = 32) -> torch.Tensor:
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(seed))


def as_array(img: Image.Image) -> np.ndarray:
    return np.asarray(img, dtype=np.float64) / 255.0

"""The shipped models: name -> weights file in flowstyle/weights/, and name-or-path resolution."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from ..errors import FlowstyleError

# the default: on every validation set it carried the most of the paintings' texture with the fewest
# failing pairs and kept faces readable where the two-block flows smear them (MODELS.md)
DEFAULT_MODEL = "artflow-adaattn-1x16"

# Shipped models: name -> file in flowstyle/weights/, the default first (the page lists them in this order).
REGISTRY: dict[str, str] = {
    "artflow-adaattn-1x16": "artflow-adaattn-1x16.safetensors",
    "artflow-adain": "artflow-adain.safetensors",
    "artflow-adaattn": "artflow-adaattn.safetensors",
}


def weights_dir() -> Path:
    return Path(str(resources.files("flowstyle") / "weights"))


def resolve(name_or_path: str | os.PathLike) -> Path:
    """A registry name or a path -> the weights file, or a FlowstyleError listing the names."""
    key = str(name_or_path)
    if key in REGISTRY:
        path = weights_dir() / REGISTRY[key]
        if not path.exists():
            raise FlowstyleError(f"model {key!r} is registered but its file is missing: {path}")
        return path
    path = Path(key)
    if path.is_file():
        return path
    names = ", ".join(sorted(REGISTRY)) or "none shipped yet"
    raise FlowstyleError(f"no model named or at {key!r} (known models: {names})")

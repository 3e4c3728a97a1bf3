"""Weights files: one safetensors file per model, its config and provenance in the metadata.

One `.safetensors` file per model: the flow's tensors (and the AdaAttN module's, if any) plus
metadata holding the architecture, the default operator and free-form provenance (training
command, evaluation figures). Shipped models live in `flowstyle/weights/` and load by name.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import FlowstyleError
from ..flow import ArtFlow, FlowConfig
from ..image.io import atomic_output
from ..operators import AdaAttN
from . import registry
from .registry import DEFAULT_MODEL, REGISTRY, resolve
from .style_model import StyleModel

FORMAT = "flowstyle/1"


@dataclass
class ModelEntry:
    """What `flowstyle models` lists about one model file."""

    name: str
    path: Path
    method: str
    config: dict
    info: dict = field(default_factory=dict)


def save_model(
    model: StyleModel | ArtFlow,
    path: str | os.PathLike,
    method: str | None = None,
    info: dict | None = None,
    half: bool = False,
) -> Path:
    """Write one safetensors file (atomically). `half` stores float16 to halve the size.

    The flow stays exactly invertible after rounding: the inverse is computed from the stored
    parameters themselves.
    """
    if isinstance(model, ArtFlow):
        model = StyleModel(model, method or "adain", info=info)
    path = Path(path)
    tensors = {}
    for key, value in model.state_dict().items():
        value = value.detach().cpu().contiguous()
        if half and value.is_floating_point():
            value = value.half()
        tensors[key] = value
    merged_info = {**model.info, **(info or {})}
    metadata = {
        "format": FORMAT,
        "config": json.dumps(model.config.to_dict()),
        "method": method or model.method,
        "info": json.dumps(merged_info, default=str),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        save_file(tensors, tmp, metadata=metadata)
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise FlowstyleError(f"not a flowstyle weights file: {path} ({exc})") from None
    if metadata.get("format") != FORMAT:
        raise FlowstyleError(f"not a flowstyle weights file (no '{FORMAT}' metadata): {path}")
    return metadata


def load_model(name_or_path: str | os.PathLike = DEFAULT_MODEL, device: str | torch.device = "cpu") -> StyleModel:
    """Load a model by registry name or file path, in eval mode, float32."""
    path = resolve(name_or_path)
    metadata = read_metadata(path)
    config = FlowConfig(**json.loads(metadata["config"]))
    method = metadata["method"]
    info = json.loads(metadata.get("info", "{}"))
    if str(name_or_path) in REGISTRY:
        info["name"] = str(name_or_path)
    else:
        info.setdefault("name", path.stem)
    flow = ArtFlow.from_config(config)
    model = StyleModel(flow, method, info=info)
    tensors = load_file(str(path))
    if method != "adaattn" and any(k.startswith("adaattn.") for k in tensors):
        model.adaattn = AdaAttN(config.latent_channels)
    state = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise FlowstyleError(f"weights do not match their config in {path}: {exc}") from None
    return model.to(device).eval()


def list_models() -> list[ModelEntry]:
    """Every registered model with its metadata."""
    entries = []
    for name in sorted(REGISTRY):
        path = registry.weights_dir() / REGISTRY[name]
        if not path.exists():
            continue
        metadata = read_metadata(path)
        entries.append(
            ModelEntry(
                name=name,
                path=path,
                method=metadata["method"],
                config=json.loads(metadata["config"]),
                info=json.loads(metadata.get("info", "{}")),
            )
        )
    return entries



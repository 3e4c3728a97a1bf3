"""Weights files: one safetensors file per model, its config and provenance in the metadata.

One `.safetensors` file per model: the flow's tensors (and the AdaAttN module's, if any) plus
metadata: "config" (the architecture, FlowConfig), "method" (the operator it was trained for),
"defaults" (typed inference defaults: the recipe, models/recipe.py, plus operator and precision) and "info" (free-form provenance:
training command, evaluation figures). All of it is checked when read. Shipped models live in
`flowstyle/weights/` and load by name (models/registry.py).
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
from ..operators import OPERATORS, AdaAttN
from . import registry
from .registry import DEFAULT_MODEL, REGISTRY, resolve
from .defaults import InferenceDefaults
from .recipe import RecipeLike
from .style_model import StyleModel

FORMAT = "flowstyle/1"


@dataclass
class ModelEntry:
    """What `flowstyle models` lists about one model file."""

    name: str
    path: Path
    method: str
    config: FlowConfig
    info: dict = field(default_factory=dict)
    defaults: InferenceDefaults = field(default_factory=InferenceDefaults)


def save_model(
    model: StyleModel | ArtFlow,
    path: str | os.PathLike,
    method: str | None = None,
    info: dict | None = None,
    half: bool = False,
    defaults: InferenceDefaults | None = None,
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
    legacy = InferenceDefaults.from_metadata({}, merged_info)  # old-style info keys, taken out
    if defaults is None:
        defaults = legacy if legacy != InferenceDefaults() else model.defaults
    metadata = {
        "format": FORMAT,
        "config": json.dumps(model.config.to_dict()),
        "method": method or model.method,
        "info": json.dumps(merged_info, default=str),
        "defaults": defaults.to_json(),
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


@dataclass(frozen=True)
class WeightsMetadata:
    """A weights file's metadata, parsed and checked."""

    config: FlowConfig
    method: str
    info: dict
    defaults: InferenceDefaults


def parse_metadata(metadata: dict[str, str], path: str | os.PathLike) -> WeightsMetadata:
    """Typed metadata; old files' `info.default_phases/default_gain` become `defaults`."""
    try:
        config = FlowConfig(**json.loads(metadata["config"]))
        method = metadata["method"]
        if method not in OPERATORS:
            raise ValueError(f"unknown method {method!r}")
        info = json.loads(metadata.get("info", "{}"))
        defaults = InferenceDefaults.from_metadata(metadata, info).check_for(config.n_block)
    except (KeyError, TypeError, ValueError) as exc:  # FlowstyleError is a ValueError
        raise FlowstyleError(f"bad metadata in weights file {path}: {exc}") from None
    return WeightsMetadata(config, method, info, defaults)


def load_model(name_or_path: str | os.PathLike = DEFAULT_MODEL, device: str | torch.device = "cpu") -> StyleModel:
    """Load a model by registry name or file path, in eval mode, float32."""
    path = resolve(name_or_path)
    meta = parse_metadata(read_metadata(path), path)
    config, method, info = meta.config, meta.method, meta.info
    if str(name_or_path) in REGISTRY:
        info["name"] = str(name_or_path)
    else:
        info.setdefault("name", path.stem)
    flow = ArtFlow(config)
    model = StyleModel(flow, method, info=info, defaults=meta.defaults)
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
    """Every registered model with its metadata, the default first."""
    entries = []
    for name in REGISTRY:
        path = registry.weights_dir() / REGISTRY[name]
        if not path.exists():
            continue
        meta = parse_metadata(read_metadata(path), path)
        entries.append(ModelEntry(name, path, meta.method, meta.config, meta.info, meta.defaults))
    return entries


def set_defaults(
    name_or_path: str | os.PathLike,
    output: str | os.PathLike | None = None,
    recipe: RecipeLike | None = None,
    **changes,
) -> Path:
    """Change a weights file's inference defaults: `recipe` (a dict of Recipe fields, merged over
    the stored recipe, or a whole Recipe), and `method`, `precision` or `work_size` as keywords.

    Writes `output` (default: the file itself) atomically; the tensors are copied unchanged
    (same dtype, bit for bit), other metadata too. Returns the path written.
    """
    path = resolve(name_or_path)
    metadata = read_metadata(path)
    meta = parse_metadata(metadata, path)
    defaults = meta.defaults.replace(recipe, **changes).check_for(meta.config.n_block)
    if defaults.method == "adaattn" and meta.method != "adaattn" and not _has_adaattn(path):
        raise FlowstyleError(f"{path} has no AdaAttN module; its default method cannot be adaattn")
    tensors = load_file(str(path))
    updated = {**metadata, "info": json.dumps(meta.info, default=str), "defaults": defaults.to_json()}
    target = Path(output) if output is not None else path
    if not target.parent.exists():
        raise FlowstyleError(f"output folder does not exist: {target.parent}")
    with atomic_output(target) as tmp:
        save_file(tensors, tmp, metadata=updated)
    return target


def _has_adaattn(path: Path) -> bool:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return any(key.startswith("adaattn.") for key in handle.keys())



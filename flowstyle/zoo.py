"""Weights files and the model zoo.

One `.safetensors` file per model: the flow's tensors (and the AdaAttN module's, if any) plus
metadata holding the architecture, the default operator and free-form provenance (training
command, evaluation figures). Shipped models live in `flowstyle/weights/` and load by name.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .errors import FlowstyleError
from .imageio import atomic_output
from .flow import ArtFlow, FlowConfig
from .operators import OPERATORS, AdaAttN

FORMAT = "flowstyle/1"
DEFAULT_MODEL = "artflow-adain"

# Shipped models: name -> file in flowstyle/weights/ (filled by the default-models work).
REGISTRY: dict[str, str] = {
    "artflow-adain": "artflow-adain.safetensors",
    "artflow-adaattn": "artflow-adaattn.safetensors",
    "artflow-adaattn-1x16": "artflow-adaattn-1x16.safetensors",
}


class StyleModel(nn.Module):
    """A flow plus the operator it was trained for (and that operator's parameters)."""

    def __init__(
        self,
        flow: ArtFlow,
        method: str = "adain",
        adaattn: AdaAttN | None = None,
        info: dict | None = None,
    ) -> None:
        super().__init__()
        if method not in OPERATORS:
            raise ValueError(f"unknown method {method!r}; choose from {', '.join(OPERATORS)}")
        if method == "adaattn" and adaattn is None:
            adaattn = AdaAttN(flow.config.latent_channels)
        self.flow = flow
        self.method = method
        self.adaattn = adaattn
        self.info = dict(info or {})

    @property
    def config(self) -> FlowConfig:
        return self.flow.config

    @property
    def name(self) -> str:
        return str(self.info.get("name", "unnamed"))


@dataclass
class ModelEntry:
    """What `flowstyle models` lists about one model file."""

    name: str
    path: Path
    method: str
    config: dict
    info: dict = field(default_factory=dict)


def weights_dir() -> Path:
    return Path(str(resources.files("flowstyle") / "weights"))


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
        path = weights_dir() / REGISTRY[name]
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


def _default_init_images() -> list:
    """Bundled photos (scikit-image, public domain) for ActNorm initialisation."""
    from skimage import data

    return [data.astronaut(), data.chelsea(), data.coffee()]


def init_model(
    method: str = "adain",
    images: list | None = None,
    size: int = 256,
    seed: int = 0,
    **architecture,
) -> StyleModel:
    """An untrained model whose ActNorms are initialised on real photos (a usable baseline).

    `architecture`: the `ArtFlow` / `FlowConfig` keywords (n_block, n_flow, width, ...).
    """
    from .imageio import load_tensor
    from .pipeline import resize_longest

    torch.manual_seed(seed)
    flow = ArtFlow(**architecture, seed=seed)
    m = flow.config.multiple
    batch = []
    for src in images or _default_init_images():
        x = resize_longest(load_tensor(src), size)
        h, w = x.shape[-2:]
        side = max(m, min(h, w) - min(h, w) % m)
        batch.append(x[..., :side, :side])
    side = min(t.shape[-1] for t in batch)
    flow.initialize(torch.cat([t[..., :side, :side] for t in batch]))
    info = {"name": "untrained", "summary": "untrained flow (ActNorm initialised on photos)"}
    return StyleModel(flow, method, info=info)

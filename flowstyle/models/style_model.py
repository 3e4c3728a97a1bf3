"""StyleModel: a flow plus the operator it was trained for; `init_model` builds an untrained one."""

from __future__ import annotations

import torch
from torch import nn

from ..flow import ArtFlow, FlowConfig
from ..operators import OPERATORS, AdaAttN
from .defaults import InferenceDefaults


class StyleModel(nn.Module):
    """A flow plus the operator it was trained for (and that operator's parameters).

    info: free-form provenance (name, summary, training, evaluation figures); defaults: the
    typed inference defaults `stylize` uses (models/defaults.py): its recipe
    (`defaults.recipe`), operator and precision.
    """

    def __init__(
        self,
        flow: ArtFlow,
        method: str = "adain",
        adaattn: AdaAttN | None = None,
        info: dict | None = None,
        defaults: InferenceDefaults | None = None,
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
        self.defaults = defaults or InferenceDefaults()

    @property
    def config(self) -> FlowConfig:
        return self.flow.config

    @property
    def name(self) -> str:
        return str(self.info.get("name", "unnamed"))


def _default_init_images() -> list:
    """Bundled photos (scikit-image, public domain) for ActNorm initialisation."""
    from skimage import data

    return [data.astronaut(), data.chelsea(), data.coffee()]


def init_model(
    config: FlowConfig | None = None,
    method: str = "adain",
    images: list | None = None,
    size: int = 256,
    seed: int = 0,
) -> StyleModel:
    """An untrained model whose ActNorms are initialised on real photos (a usable baseline)."""
    from ..image.io import load_tensor
    from ..image.transforms import resize_longest

    torch.manual_seed(seed)
    flow = ArtFlow(config, seed=seed)
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

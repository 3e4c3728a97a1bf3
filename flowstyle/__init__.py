"""flowstyle: arbitrary image style transfer with a reversible flow (ArtFlow + AdaIN/WCT/AdaAttN).

    import flowstyle
    image = flowstyle.stylize("photo.jpg", "painting.jpg", model="artflow-adain", alpha=0.8)
    image.save("out.jpg")

    options = flowstyle.StylizeOptions(alpha=0.8, quality="finest")
    image = flowstyle.Stylizer("artflow-adain").stylize("photo.jpg", "painting.jpg", options)

    # experts: change the model's tuning recipe field by field (flowstyle.Recipe)
    image = flowstyle.stylize("photo.jpg", "painting.jpg", recipe={"phases": 4, "gain": 1.2})

The names below load on first use, so `import flowstyle` (and `flowstyle --help`) stays light.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from .errors import FlowstyleError

try:
    __version__ = version("flowstyle")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"

# public name -> the module that defines it
_EXPORTS = {
    "ArtFlow": "flow", "FlowConfig": "flow",
    "AdaAttN": "operators", "adain": "operators", "wct": "operators", "transfer": "operators",
    "TransferSpec": "operators",
    "StylizeOptions": "pipeline", "Stylizer": "pipeline", "stylize": "pipeline",
    "StyleModel": "models", "InferenceDefaults": "models", "Recipe": "models", "load_model": "models",
    "save_model": "models", "list_models": "models",
}

__all__ = [*_EXPORTS, "FlowstyleError", "__version__"]

if TYPE_CHECKING:
    from .flow import ArtFlow, FlowConfig
    from .models import InferenceDefaults, Recipe, StyleModel, list_models, load_model, save_model
    from .operators import AdaAttN, TransferSpec, adain, transfer, wct
    from .pipeline import StylizeOptions, Stylizer, stylize


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'flowstyle' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

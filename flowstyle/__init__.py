"""flowstyle: arbitrary image style transfer with a reversible flow (ArtFlow + AdaIN/WCT/AdaAttN).

    import flowstyle
    image = flowstyle.stylize("photo.jpg", "painting.jpg", model="artflow-adain")
    image.save("out.jpg")
"""

from importlib.metadata import PackageNotFoundError, version

from .errors import FlowstyleError
from .flow import ArtFlow, FlowConfig
from .operators import AdaAttN, adain, transfer, wct
from .pipeline import Stylizer, stylize
from .models import StyleModel, list_models, load_model, save_model

try:
    __version__ = version("flowstyle")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"

__all__ = [
    "ArtFlow", "FlowConfig", "AdaAttN", "adain", "wct", "transfer", "Stylizer", "stylize",
    "StyleModel", "load_model", "save_model", "list_models", "FlowstyleError", "__version__",
]

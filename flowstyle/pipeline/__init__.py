"""The stylize pipeline: options (checked once, options.py) and the Stylizer that runs them."""

from .options import StylizeOptions
from .stylizer import Stylizer, configure_threads, stylize

__all__ = ["StylizeOptions", "Stylizer", "stylize", "configure_threads"]

"""The stylize pipeline: options (checked once) and the Stylizer that runs them."""

from .stylizer import Stylizer, configure_threads, phase_shifts, stylize

__all__ = ["Stylizer", "stylize", "phase_shifts", "configure_threads"]

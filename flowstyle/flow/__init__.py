"""The reversible flow: layers and the ArtFlow model."""

from .layers import ActNorm, Coupling, FlowStep, InvConv1x1, Squeeze
from .model import ArtFlow, FlowConfig

__all__ = ["ArtFlow", "FlowConfig", "ActNorm", "Coupling", "FlowStep", "InvConv1x1", "Squeeze"]

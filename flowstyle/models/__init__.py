"""Models: weights files with typed metadata, the registry of shipped models, StyleModel."""

from .defaults import InferenceDefaults
from .recipe import QUALITIES, Recipe
from .registry import DEFAULT_MODEL, REGISTRY, resolve, weights_dir
from .style_model import StyleModel, init_model
from .weights import ModelEntry, list_models, load_model, read_metadata, save_model, set_defaults

__all__ = [
    "DEFAULT_MODEL", "REGISTRY", "resolve", "weights_dir", "StyleModel", "init_model",
    "ModelEntry", "list_models", "load_model", "read_metadata", "save_model", "set_defaults",
    "InferenceDefaults", "Recipe", "QUALITIES",
]

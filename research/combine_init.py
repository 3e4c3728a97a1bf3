"""Make a training init from one model's flow and another model's AdaAttN module.

Why: the AdaAttN model is fine-tuned from the current AdaIN flow; its attention module need not
start from scratch when a shipped AdaAttN model of the same latent size already has one.
Usage: python -m research.combine_init FLOW_MODEL ATTENTION_MODEL OUT.safetensors
"""

from __future__ import annotations

import sys

from flowstyle.models.style_model import StyleModel
from flowstyle.models.weights import load_model, save_model


def combine(flow_model: str, attention_model: str, out: str) -> None:
    flow, attention = load_model(flow_model), load_model(attention_model)
    if attention.adaattn is None:
        raise SystemExit(f"{attention_model} has no AdaAttN module")
    if flow.config.latent_channels != attention.config.latent_channels:
        raise SystemExit("the two models' latent sizes differ")
    info = {"name": "combined-init", "flow_from": flow_model, "attention_from": attention_model}
    save_model(StyleModel(flow.flow, "adaattn", attention.adaattn), out, info=info)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__.strip().splitlines()[-1])
    combine(*sys.argv[1:])

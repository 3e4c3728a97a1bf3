"""One model's flow with another model's AdaAttN module: a training init, or a model to ship.

Why: the AdaAttN model is fine-tuned from the current AdaIN flow; its attention module need not
start from scratch when a shipped AdaAttN model of the same latent size already has one. A flow
trained on through the patch operator (research/train_models.sh adaattn-patch*) ships the same
way: with `--summary`, the result keeps the attention model's inference defaults (recipe, default
method, precision, working size) and carries the flow's training record under that summary.
A module trained again for such a flow (`--freeze-flow`) is saved with the trainer's plain
defaults: `--defaults MODEL` takes the inference defaults from the shipped model instead.
Usage: python -m research.combine_init FLOW_MODEL ATTENTION_MODEL OUT.safetensors [--summary TEXT] [--defaults MODEL]
"""

from __future__ import annotations

import argparse

from flowstyle.models.style_model import StyleModel
from flowstyle.models.weights import load_model, save_model


def combine(
    flow_model: str, attention_model: str, out: str, summary: str | None = None, defaults_model: str | None = None
) -> None:
    flow, attention = load_model(flow_model), load_model(attention_model)
    if attention.adaattn is None:
        raise SystemExit(f"{attention_model} has no AdaAttN module")
    if flow.config.latent_channels != attention.config.latent_channels:
        raise SystemExit("the two models' latent sizes differ")
    if summary is None:
        info = {"name": "combined-init", "flow_from": flow_model, "attention_from": attention_model}
        save_model(StyleModel(flow.flow, "adaattn", attention.adaattn), out, info=info)
        return
    record = {k: v for k, v in flow.info.items() if k not in ("name", "summary")}  # training, steps, machine
    info = {**record, "summary": summary, "attention_from": attention.info.get("summary")}
    defaults = load_model(defaults_model).defaults if defaults_model else attention.defaults
    save_model(StyleModel(flow.flow, "adaattn", attention.adaattn), out, info=info, defaults=defaults)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("flow_model")
    ap.add_argument("attention_model")
    ap.add_argument("out")
    ap.add_argument("--summary", help="ship: keep the attention model's defaults, describe the result so")
    ap.add_argument("--defaults", help="with --summary: the model whose inference defaults to keep (default: the attention model)")
    args = ap.parse_args()
    if args.defaults and not args.summary:
        ap.error("--defaults needs --summary")
    combine(args.flow_model, args.attention_model, args.out, args.summary, args.defaults)

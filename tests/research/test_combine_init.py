"""research.combine_init: one model's flow with another's AdaAttN module, as an init or to ship."""

from __future__ import annotations

from pathlib import Path

import torch

from flowstyle.models import load_model
from flowstyle.models.weights import save_model
from research.combine_init import combine

PINNED = Path(__file__).parents[1] / "pinned"


def _attention_model_with_defaults(tmp_path) -> str:
    """The pinned AdaAttN model with a recipe and default method of its own, as a shipped one has."""
    model = load_model(PINNED / "tiny-adaattn.safetensors")
    model.defaults = model.defaults.replace(recipe={"grid_filter": 2.0, "anchor": 0.75}, method="patch")
    path = tmp_path / "attention.safetensors"
    save_model(model, path, info={"summary": "the attention model"})
    return str(path)


def _same_tensors(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_a_shipped_combination_keeps_the_flow_the_module_and_the_attention_models_defaults(tmp_path):
    flow_file, attention_file = str(PINNED / "tiny-adain.safetensors"), _attention_model_with_defaults(tmp_path)
    out = tmp_path / "shipped.safetensors"
    combine(flow_file, attention_file, str(out), summary="the flow trained on, with the attention module")
    shipped, flow, attention = load_model(out), load_model(flow_file), load_model(attention_file)
    assert _same_tensors(shipped.flow, flow.flow) and _same_tensors(shipped.adaattn, attention.adaattn)
    assert shipped.method == "adaattn" and shipped.defaults == attention.defaults
    assert shipped.info["summary"] == "the flow trained on, with the attention module"
    assert shipped.info["attention_from"] == "the attention model"


def test_an_init_has_plain_defaults(tmp_path):
    out = tmp_path / "init.safetensors"
    combine(str(PINNED / "tiny-adain.safetensors"), _attention_model_with_defaults(tmp_path), str(out))
    init = load_model(out)
    assert init.method == "adaattn" and init.defaults.recipe.grid_filter == 0.0


def test_a_retrained_module_ships_with_the_shipped_models_defaults(tmp_path):
    """A module trained again for a new flow comes with the trainer's plain defaults; --defaults
    puts the shipped model's recipe and method back."""
    trained = str(PINNED / "tiny-adaattn.safetensors")
    shipped_file = _attention_model_with_defaults(tmp_path)
    out = tmp_path / "shipped.safetensors"
    combine(trained, trained, str(out), summary="flow and module trained again", defaults_model=shipped_file)
    result, source = load_model(out), load_model(trained)
    assert _same_tensors(result.flow, source.flow) and _same_tensors(result.adaattn, source.adaattn)
    assert result.defaults == load_model(shipped_file).defaults
    assert result.defaults != source.defaults

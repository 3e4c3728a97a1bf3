"""Weights files: round trip, metadata, registry names, clear errors."""

import json

import pytest
import torch

from flowstyle import models as zoo
from flowstyle.models import registry
from flowstyle.flow import FlowConfig
from flowstyle.errors import FlowstyleError
from flowstyle.models import StyleModel, init_model, load_model, save_model


def test_round_trip_keeps_every_tensor_config_and_method(tiny_model, tmp_path):
    path = save_model(tiny_model, tmp_path / "m.safetensors", info={"steps": 12})
    loaded = load_model(path)
    assert loaded.config == tiny_model.config
    assert loaded.method == "adain"
    assert loaded.info["steps"] == 12
    for (k1, v1), (k2, v2) in zip(tiny_model.state_dict().items(), loaded.state_dict().items()):
        assert k1 == k2 and torch.equal(v1, v2)
    assert loaded.flow.initialized
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(loaded.flow.encode(x), tiny_model.flow.encode(x))


def test_adaattn_parameters_travel_with_the_file(tmp_path):
    model = init_model(FlowConfig(n_block=1, n_flow=1, width=8), method="adaattn", size=32)
    with torch.no_grad():
        model.adaattn.f.weight.add_(0.5)
    loaded = load_model(save_model(model, tmp_path / "a.safetensors"))
    assert loaded.method == "adaattn"
    assert torch.equal(loaded.adaattn.f.weight, model.adaattn.f.weight)


def test_half_precision_file_is_smaller_and_still_exactly_invertible(tiny_model, tmp_path):
    full = save_model(tiny_model, tmp_path / "f.safetensors")
    half = save_model(tiny_model, tmp_path / "h.safetensors", half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    flow = load_model(half).flow
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert (flow.decode(flow.encode(x)) - x).abs().max() < 1e-4


def test_registry_names_resolve_to_package_files(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "weights_dir", lambda: tmp_path)
    monkeypatch.setitem(zoo.REGISTRY, "tiny-test", "tiny.safetensors")
    save_model(tiny_model, tmp_path / "tiny.safetensors", info={"summary": "a tiny one"})
    assert load_model("tiny-test").name == "tiny-test"
    assert [e.name for e in zoo.list_models()] == ["tiny-test"]


def test_metadata_is_plain_json(tiny_model, tmp_path):
    path = save_model(tiny_model, tmp_path / "m.safetensors")
    meta = zoo.read_metadata(path)
    assert json.loads(meta["config"])["n_block"] == 2 and meta["method"] == "adain"


def test_bad_files_and_names_give_clear_errors(tmp_path):
    with pytest.raises(FlowstyleError, match="no model named"):
        load_model("no-such-model")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(FlowstyleError, match="not a flowstyle weights file"):
        load_model(junk)


def test_style_model_rejects_unknown_method(tiny_model):
    with pytest.raises(ValueError):
        StyleModel(tiny_model.flow, "nope")

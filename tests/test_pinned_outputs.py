"""Behaviour pin: a fixed tiny model's stylize outputs must stay bit for bit what they were.

The models and outputs in tests/pinned/ were written before the package was restructured
(`python -m tests.pinned_cases`); any refactor must leave them unchanged. A change that is meant
to alter outputs regenerates them in its own commit and says why.
"""

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from flowstyle import Stylizer, load_model

from .pinned_cases import CASES, MODELS, OUTPUTS, run_case


@pytest.fixture(scope="module")
def stylizers():
    return {method: Stylizer(load_model(str(path))) for method, path in MODELS.items()}


@pytest.fixture(scope="module")
def expected():
    with np.load(OUTPUTS) as data:
        return {name: data[name] for name in data.files}


@pytest.mark.parametrize("name", sorted(CASES))
def test_pinned_output_is_unchanged(stylizers, expected, name):
    out = run_case(stylizers[CASES[name][0]], name)
    assert out.dtype == expected[name].dtype and out.shape == expected[name].shape
    assert np.array_equal(out, expected[name]), f"{name}: max diff {np.abs(out - expected[name]).max()}"


@pytest.mark.parametrize("method", sorted(MODELS))
def test_init_model_builds_the_pinned_weights(method):
    """An untrained model from a fixed seed (plus the fixed nudge) is the committed one."""
    from .pinned_cases import build_model

    model = build_model(method)
    stored = load_file(str(MODELS[method]))
    state = model.state_dict()
    assert set(state) == set(stored)
    for key, value in state.items():
        assert torch.equal(value.half() if value.is_floating_point() else value, stored[key]), key

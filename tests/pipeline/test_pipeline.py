"""The stylize pipeline: shapes, padding, determinism, blending, caching, errors."""

import copy
import numpy as np
import pytest
import torch
from PIL import Image

import flowstyle
from flowstyle.errors import FlowstyleError
from flowstyle.image.transforms import phase_shifts, resize_longest
from flowstyle.models import InferenceDefaults, Recipe
from flowstyle.pipeline import Stylizer

from ..conftest import as_array


@pytest.fixture(scope="module")
def stylizer(tiny_model):
    return Stylizer(tiny_model)


def test_output_has_content_size_for_odd_sizes(stylizer, photos):
    content = photos["astronaut"].crop((0, 0, 37, 29))
    out = stylizer.stylize(content, photos["coffee"], pad=8)
    assert isinstance(out, Image.Image) and out.size == (37, 29) and out.mode == "RGB"


def test_size_resizes_longest_side_and_keeps_aspect(stylizer, photos):
    out = stylizer.stylize(photos["coffee"], photos["chelsea"], size=40, pad=4)
    w, h = photos["coffee"].size
    assert max(out.size) == 40 and abs(out.size[1] - round(h * 40 / w)) <= 1


def test_deterministic_for_same_inputs(stylizer, photos):
    a = as_array(stylizer.stylize(photos["astronaut"], photos["coffee"], pad=8))
    b = as_array(stylizer.stylize(photos["astronaut"], photos["coffee"], pad=8))
    assert np.array_equal(a, b)


def test_alpha_zero_gives_back_the_content(stylizer, photos):
    content = photos["astronaut"]
    out = stylizer.stylize_tensor(content, photos["coffee"], alpha=0.0, pad=8)
    ref = torch.from_numpy(as_array(content)).permute(2, 0, 1).float()
    assert (out[0] - ref).abs().max() < 1e-3


def test_stylizing_changes_statistics_toward_the_style(stylizer, photos):
    content, style = as_array(photos["astronaut"]), as_array(photos["coffee"])
    out = as_array(stylizer.stylize(photos["astronaut"], photos["coffee"], pad=8))
    assert np.abs(out.mean((0, 1)) - style.mean((0, 1))).sum() < np.abs(content.mean((0, 1)) - style.mean((0, 1))).sum()


@pytest.mark.parametrize("pad_mode", ["reflect", "zeros"])
def test_padding_modes_and_large_pads(stylizer, photos, pad_mode):
    out = stylizer.stylize(photos["rocket"].crop((0, 0, 20, 24)), photos["coffee"], pad=64, pad_mode=pad_mode)
    assert out.size == (20, 24)


def test_phase_averaging(stylizer, photos):
    assert phase_shifts(4, 4) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert len(phase_shifts(16, 4)) == 16
    one = stylizer.stylize_tensor(photos["astronaut"], photos["coffee"], pad=8, recipe=dict(phases=1))
    four = stylizer.stylize_tensor(photos["astronaut"], photos["coffee"], pad=8, recipe=dict(phases=4))
    assert one.shape == four.shape and not torch.allclose(one, four)
    with pytest.raises(FlowstyleError, match="phases"):
        stylizer.stylize(photos["astronaut"], photos["coffee"], recipe=dict(phases=3))


def test_gain_scales_the_latent_change(stylizer, photos):
    c, s = photos["astronaut"], photos["coffee"]
    half = stylizer.stylize_tensor(c, s, pad=8, recipe=dict(phases=1), alpha=0.5)
    assert torch.equal(stylizer.stylize_tensor(c, s, pad=8, recipe=dict(phases=1, gain=2.0), alpha=0.25), half)
    full = stylizer.stylize_tensor(c, s, pad=8, recipe=dict(phases=1))
    strong = stylizer.stylize_tensor(c, s, pad=8, recipe=dict(phases=1, gain=1.5))
    assert not torch.allclose(full, strong)
    with pytest.raises(FlowstyleError, match="gain"):
        stylizer.stylize(c, s, recipe=dict(gain=0))


def test_the_models_recipe_is_the_default_and_the_users_recipe_changes_its_fields(tiny_model):
    model = copy.deepcopy(tiny_model)
    model.defaults = InferenceDefaults(Recipe(phases=4, gain=1.3))
    stylizer = Stylizer(model)

    def fix(**kw):
        used = stylizer.options_for(1, **kw).recipe
        return used.phases, used.gain

    assert fix() == (4, 1.3)
    assert fix(recipe=dict(phases=1)) == (1, 1.3)  # each field the model's unless given
    assert fix(recipe=dict(gain=1.1)) == (4, 1.1)
    assert fix(quality="fast") == (1, 1.0)  # the gain was chosen for the model's phases
    assert fix(quality="finest") == (16, 1.0)
    plain = Stylizer(tiny_model).options_for(1)
    assert (plain.recipe, plain.method) == (Recipe(), "adain")  # no recommendation


def test_several_styles_with_weights(stylizer, photos):
    c, s1, s2 = photos["astronaut"], photos["coffee"], photos["chelsea"]
    only_first = stylizer.stylize_tensor(c, [s1, s2], style_weights=[1, 0], pad=8)
    assert torch.allclose(only_first, stylizer.stylize_tensor(c, s1, pad=8), atol=1e-5)
    mixed = stylizer.stylize_tensor(c, [s1, s2], style_weights=[1, 1], pad=8, method="wct")
    assert mixed.shape == only_first.shape
    latents = stylizer.stylize_tensor(c, [s1, s1], blend="latents", pad=8)
    assert torch.allclose(latents, stylizer.stylize_tensor(c, s1, pad=8), atol=1e-5)


def test_styles_are_encoded_once(tiny_model, photos, monkeypatch):
    stylizer = Stylizer(tiny_model)
    calls = []
    original = stylizer._encode
    monkeypatch.setattr(stylizer, "_encode", lambda x, tile, *blocks, **kw: calls.append(x.shape) or original(x, tile, *blocks, **kw))
    for _ in range(3):
        stylizer.stylize(photos["astronaut"], photos["coffee"], pad=8)
    assert len(calls) == 3 + 1  # three contents, one style


def test_inputs_can_be_paths_pil_tensors(tiny_model_file, photo_files, photos):
    tensor = torch.from_numpy(as_array(photos["coffee"])).permute(2, 0, 1).float()
    a = flowstyle.stylize(photo_files["astronaut"], photo_files["coffee"], model=tiny_model_file, pad=8)
    b = flowstyle.stylize(photos["astronaut"], tensor, model=tiny_model_file, pad=8)
    assert np.abs(as_array(a) - as_array(b)).max() <= 1 / 255 + 1e-9


def test_user_errors(stylizer, photos):
    with pytest.raises(FlowstyleError, match="too small"):
        stylizer.stylize(photos["astronaut"].resize((3, 3)), photos["coffee"])
    with pytest.raises(FlowstyleError, match="alpha"):
        stylizer.stylize(photos["astronaut"], photos["coffee"], alpha=2)
    with pytest.raises(FlowstyleError, match="no such file"):
        stylizer.stylize("/nonexistent.png", photos["coffee"])
    with pytest.raises(FlowstyleError, match="AdaAttN"):
        stylizer.stylize(photos["astronaut"], photos["coffee"], method="adaattn")
    with pytest.raises(FlowstyleError, match="pad mode"):
        stylizer.stylize(photos["astronaut"], photos["coffee"], pad_mode="wrap")


def test_resize_longest():
    x = torch.rand(1, 3, 30, 60)
    assert resize_longest(x, 20).shape[-2:] == (10, 20)
    assert resize_longest(x, None) is x

"""work_size: paint a small copy of the photo, carry the result to full size guided by the photo."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from flowstyle.errors import FlowstyleError
from flowstyle.image.guided import guided_upsample
from flowstyle.image.io import load_tensor
from flowstyle.image.transforms import resize_longest
from flowstyle.models import StyleModel
from flowstyle.models.defaults import InferenceDefaults
from flowstyle.pipeline import Stylizer, StylizeOptions
from flowstyle.pipeline.options import WORK_SIZE


def test_a_work_size_at_least_the_photo_changes_nothing(tiny_model, photos):
    stylizer = Stylizer(tiny_model, precision="float32")
    plain = stylizer.stylize_tensor(photos["astronaut"], photos["coffee"], pad=8, work_size=0)
    assert torch.equal(plain, stylizer.stylize_tensor(photos["astronaut"], photos["coffee"], pad=8, work_size=64))
    assert torch.equal(plain, stylizer.stylize_tensor(photos["astronaut"], photos["coffee"], pad=8))  # default 512


def test_a_smaller_work_size_paints_small_and_returns_full_size(tiny_model, photos):
    stylizer = Stylizer(tiny_model, precision="float32")
    photo = load_tensor(photos["chelsea"])
    out = stylizer.stylize_tensor(photo, photos["rocket"], pad=8, work_size=32)
    assert out.shape == photo.shape
    small = resize_longest(photo, 32)
    painted = stylizer.stylize_tensor(small, photos["rocket"], pad=8, work_size=0)
    assert torch.allclose(out, guided_upsample(painted, small, photo), atol=1e-6)


@pytest.mark.parametrize("bad", [-5, 2.5, "384"])
def test_work_size_must_be_a_size_or_zero(bad):
    with pytest.raises(FlowstyleError, match="work_size"):
        StylizeOptions(work_size=bad)


def test_the_work_size_is_the_models_unless_given(tiny_model, photos):
    plain = Stylizer(tiny_model, precision="float32")
    assert plain.options_for().work_size == WORK_SIZE  # a model that names none
    own = StyleModel(tiny_model.flow, tiny_model.method, defaults=dataclasses.replace(tiny_model.defaults, work_size=32))
    stylizer = Stylizer(own, precision="float32")
    assert stylizer.options_for().work_size == 32 and stylizer.options_for(work_size=0).work_size == 0
    photo = load_tensor(photos["chelsea"])
    assert torch.equal(stylizer.stylize_tensor(photo, photos["rocket"], pad=8),
                       plain.stylize_tensor(photo, photos["rocket"], pad=8, work_size=32))
    with pytest.raises(FlowstyleError, match="work size"):
        InferenceDefaults(work_size=-1)

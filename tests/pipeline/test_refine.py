"""Refinement (`refine=N`): the result's latent optimised against the VGG losses. It must lower
those losses, keep the picture the right size and in range, be deterministic, report its steps,
and refuse what it cannot do with a clear message."""

from __future__ import annotations

import pytest
import torch

from flowstyle.errors import FlowstyleError
from flowstyle.image.io import load_tensor
from flowstyle.pipeline import Stylizer, StylizeOptions
from flowstyle.pipeline import refine as R


def _losses(photo, style, out) -> tuple[float, float]:
    """The style and texture losses refinement lowers (it trades some of the content loss)."""
    targets = R.Targets(load_tensor(photo), [load_tensor(style)], [1.0])
    with torch.no_grad():
        _, style_loss, *texture = targets.losses(out)
    return float(style_loss), float(sum(texture))


def test_refinement_lowers_the_losses_it_follows(tiny_model, photos):
    stylizer = Stylizer(tiny_model, precision="float32")
    photo, style = photos["astronaut"], photos["coffee"]
    plain = stylizer.stylize_tensor(photo, style, size=64, pad=8)
    refined = stylizer.stylize_tensor(photo, style, size=64, pad=8, refine=4)
    assert refined.shape == plain.shape
    assert 0.0 <= float(refined.min()) and float(refined.max()) <= 1.0
    assert not torch.equal(refined, plain)
    for after, before in zip(_losses(photo, style, refined), _losses(photo, style, plain)):
        assert after < 0.95 * before


def test_refinement_is_deterministic_and_zero_steps_change_nothing(tiny_model, photos):
    stylizer = Stylizer(tiny_model, precision="float32")
    photo, style = photos["chelsea"], photos["rocket"]
    assert torch.equal(stylizer.stylize_tensor(photo, style, size=48, pad=8, refine=2),
                       stylizer.stylize_tensor(photo, style, size=48, pad=8, refine=2))
    assert torch.equal(stylizer.stylize_tensor(photo, style, size=48, pad=8),
                       stylizer.stylize_tensor(photo, style, size=48, pad=8, refine=0))


def test_refinement_reports_each_step(tiny_model, photos):
    seen: list[tuple[float, str]] = []
    Stylizer(tiny_model).stylize(photos["astronaut"], photos["coffee"], size=48, pad=8, refine=3,
                                 progress=lambda f, t: seen.append((f, t)))
    texts = [t for _, t in seen]
    assert [t for t in texts if t.startswith("Refining")] == [
        f"Refining the strokes (step {i} of 3)" for i in (1, 2, 3)
    ]
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_refinement_cost_counts_the_encoding_only_where_one_runs():
    assert R.refine_passes(0, encodes=True) == 0.0
    assert R.refine_passes(2, encodes=False) == 2 * R.PASSES_PER_STEP + 1.0  # the steps and the final decoding
    assert R.refine_passes(2, encodes=True) == 2 * R.PASSES_PER_STEP + 2.0  # and the result's encoding


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_refine_must_be_a_whole_number_of_steps(bad):
    with pytest.raises(FlowstyleError, match="refine"):
        StylizeOptions(refine=bad)


def test_refine_refuses_a_mask_and_huge_photos(tiny_model, photos, monkeypatch):
    with pytest.raises(FlowstyleError, match="mask"):
        StylizeOptions(refine=2, mask=photos["coffee"])
    monkeypatch.setattr("flowstyle.pipeline.stylizer.MAX_REFINE_PIXELS", 1000)
    with pytest.raises(FlowstyleError, match="refine works up to"):
        Stylizer(tiny_model).stylize(photos["astronaut"], photos["coffee"], size=48, refine=1)


def _encodings(model, monkeypatch) -> list[int]:
    """Counts the flow's encoding passes (the photo's, the styles', refinement's)."""
    calls: list[int] = []
    original = model.flow.encode_blocks

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(model.flow, "encode_blocks", counted)
    return calls


@pytest.mark.parametrize("phases, extra", [(1, 0), (2, 1)])
def test_one_phase_refines_the_transfers_own_latent(tiny_model, photos, monkeypatch, phases, extra):
    # a single phase's result is the decoded transfer: refinement starts from that latent, not
    # from an encoding of the result; an average over phases has no latent and is encoded once
    stylizer = Stylizer(tiny_model, precision="float32", cache_size=0)
    photo, style = photos["astronaut"], photos["coffee"]
    calls = _encodings(tiny_model, monkeypatch)
    stylizer.stylize_tensor(photo, style, size=48, pad=8, recipe={"phases": phases})
    plain = len(calls)
    calls.clear()
    stylizer.stylize_tensor(photo, style, size=48, pad=8, recipe={"phases": phases}, refine=2)
    assert len(calls) == plain + extra


def test_bf16_losses_follow_the_float32_ones(photos):
    photo, style = load_tensor(photos["astronaut"]), load_tensor(photos["coffee"])
    picture = torch.nn.functional.interpolate(load_tensor(photos["chelsea"]), size=photo.shape[-2:], mode="bilinear")
    exact = R.Targets(photo, [style])
    fast = R.Targets(photo, [style], bf16=True)
    with torch.no_grad():
        a, b = exact.losses(picture), fast.losses(picture)
    assert b.dtype == torch.float32
    assert torch.allclose(a, b, rtol=0.05)

"""The stylize pipeline's optional progress callback: it reports every step, in order, with a
growing fraction, and the output is the same with or without it."""

from __future__ import annotations

import torch

from flowstyle.pipeline import Stylizer


def test_progress_reports_each_step_and_changes_nothing(tiny_model, photos):
    stylizer = Stylizer(tiny_model)
    styles = [photos["chelsea"], photos["coffee"]]
    plain = stylizer.stylize_tensor(photos["astronaut"], styles, size=64, recipe=dict(phases=16))
    seen: list[tuple[float, str]] = []
    stylizer._style_cache.clear()
    told = stylizer.stylize_tensor(photos["astronaut"], styles, size=64, recipe=dict(phases=16),
                                   progress=lambda f, text: seen.append((f, text)))
    assert torch.equal(plain, told)
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert len(set(fractions)) == len(fractions)  # every step moves the bar
    texts = [t for _, t in seen]
    assert texts[:2] == ["Reading the style 1 of 2", "Reading the style 2 of 2"]
    # the tiny model has two blocks: all 16 phases nested, 16 transfers
    assert sum(t.startswith("Applying the style") for t in texts) == 16
    assert "Applying the style (pass 16 of 16)" in texts and texts[-2:] == ["Smoothing the result", "Done"]
    one = []
    stylizer.stylize(photos["astronaut"], styles[0], size=64, recipe=dict(phases=1), progress=lambda f, t: one.append(t))
    assert "Applying the style" in one and not any("pass" in t for t in one)

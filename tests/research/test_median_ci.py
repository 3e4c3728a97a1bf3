"""research.median_ci: bootstrap intervals of a report's medians and of their ratio to a reference."""

import numpy as np
import pytest

from research.median_ci import median_intervals


def test_intervals_hold_the_median_and_a_model_against_itself_has_ratio_one():
    rng = np.random.default_rng(1)
    a = rng.normal(0.6, 0.2, 64).tolist()
    rows = median_intervals({"a": a, "b": [2 * x for x in a]}, reference="a", rounds=500)
    assert rows["a"]["low"] <= rows["a"]["median"] <= rows["a"]["high"]
    assert rows["a"]["ratio_low"] == rows["a"]["ratio_high"] == 1.0
    # b is exactly twice a, pair for pair: every resampled ratio is 2
    assert rows["b"]["ratio"] == pytest.approx(2.0) and rows["b"]["ratio_low"] == pytest.approx(2.0)
    assert rows["b"]["ratio_high"] == pytest.approx(2.0)


def test_constant_values_have_no_spread_and_unequal_pairs_are_refused():
    assert median_intervals({"c": [0.5] * 10})["c"] == {"median": 0.5, "low": 0.5, "high": 0.5}
    with pytest.raises(ValueError, match="same pairs"):
        median_intervals({"a": [1.0, 2.0], "b": [1.0]})

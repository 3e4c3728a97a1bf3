"""Pairing rows of `default_path_choice --json` files: medians over the shared pairs and
per-pair differences from the reference, not differences of medians."""

import json

from research.paired_paths import bootstrap, compare, pooled


def _write(path, model, pairs, rows):
    path.write_text(json.dumps({"model": model, "pairs": pairs, "rows": rows}))
    return str(path)


def _row(style, ssim, clipped):
    n = len(style)
    return {"style_match": style, "ssim": ssim, "clipped": clipped, "grid": [1.0] * n, "border": [1.05] * n}


def test_paired_medians_follow_the_pairs_and_skip_pairs_a_row_lacks(tmp_path):
    pairs = [["a", "x"], ["a", "y"], ["b", "x"]]
    ref = _write(tmp_path / "ref.json", "m", pairs, {"4": _row([0.9, 0.5, -0.1], [0.7, 0.6, 0.5], [1.0, 2.0, 3.0])})
    # the candidate lacks pair (b, x) and is better on one pair, worse on the other
    cand = _write(tmp_path / "cand.json", "m", pairs[:2],
                  {"2": _row([0.95, 0.4], [0.7, 0.62], [1.5, 2.0])})
    table = compare(pooled([ref, cand]), "4")
    assert table["4"]["pairs"] == 2 and "d_style_match" not in table["4"]
    c = table["2"]
    assert abs(c["d_style_match"] - (0.05 - 0.1) / 2) < 1e-12 and c["worse_style_match"] == 1
    assert abs(c["d_ssim"] - 0.01) < 1e-12 and c["worse_ssim"] == 0
    assert abs(c["d_clipped"] - 0.25) < 1e-12 and c["worse_clipped"] == 1
    assert c["below_zero"] == 0 and table["4"]["below_zero"] == 0  # (b, x) left out
    assert c["border_worst"] == 1.05


def test_rows_of_different_models_are_named_by_model(tmp_path):
    pairs = [["a", "x"]]
    a = _write(tmp_path / "a.json", "shipped", pairs, {"16": _row([0.5], [0.6], [1.0])})
    b = _write(tmp_path / "b.json", "candidate", pairs, {"1": _row([0.4], [0.7], [0.0])})
    table = compare(pooled([a, b]), "shipped: 16")
    assert set(table) == {"shipped: 16", "candidate: 1"}
    assert abs(table["candidate: 1"]["d_style_match"] + 0.1) < 1e-12


def test_bootstrap_of_a_constant_shift_is_that_shift_both_ways(tmp_path):
    pairs = [[c, s] for c in "abcd" for s in "xyz"]
    base = [0.1 * k for k in range(len(pairs))]
    ref = _write(tmp_path / "ref.json", "m", pairs, {"ref": _row(base, base, base)})
    cand = _write(tmp_path / "cand.json", "m", pairs, {"cand": _row([v - 0.01 for v in base], base, base)})
    rows = pooled([ref, cand])
    out = bootstrap(rows, "ref", "style_match", n=50)
    for low, high in out["cand"].values():
        assert abs(low + 0.01) < 1e-9 and abs(high + 0.01) < 1e-9
    assert bootstrap(rows, "ref", "ssim", n=50)["cand"]["paired"] == (0.0, 0.0)


def test_bootstrap_separates_a_noisy_median_from_a_steady_paired_difference(tmp_path):
    # values in two clusters with a gap at the median; the candidate is 0.001 lower on every pair
    # but one, which drops across the gap: the difference of medians swings with the resample,
    # the median of the per-pair differences does not
    pairs = [[c, s] for c in "abcdef" for s in "uvwxyz"]
    base = [0.9 if k < 19 else 0.2 for k in range(36)]
    moved = [v - 0.001 for v in base]
    moved[0] = 0.2
    ref = _write(tmp_path / "ref.json", "m", pairs, {"ref": _row(base, base, base)})
    cand = _write(tmp_path / "cand.json", "m", pairs, {"cand": _row(moved, base, base)})
    table = compare(pooled([ref, cand]), "ref")
    assert abs(table["cand"]["style_match"] - table["ref"]["style_match"]) > 0.3
    out = bootstrap(pooled([ref, cand]), "ref", n=300)["cand"]
    assert max(abs(v + 0.001) for v in out["paired"]) < 1e-9
    low, high = out["medians"]
    assert high - low > 0.3

"""Pool `default_path_choice --json` files (or `flowstyle eval` results.json files) and compare
each path with a reference path, pair by pair.

A path's median clipped share over pairs can jump by a point when a few pairs move by a tenth
across a gap in the distribution (artflow-adaattn-1x16's 4-phase and 2-pass medians on xval:
5.7 vs 6.8 % with a paired median difference of 0.00). So next to the medians over the pooled
pairs (each distinct content x style pair once, the pairs every row has; --rows to leave rows
out) this prints, for each path against the reference, the median of the per-pair differences,
how many pairs got worse, and the mean clipped share.

    .venv/bin/python -m research.paired_paths 16 reports/a.json reports/b.json
    .venv/bin/python -m research.paired_paths "artflow-adaattn: 16" reports/a.json reports/candidate.json
    .venv/bin/python -m research.paired_paths "xtest-adain-p16: artflow-adain" \
        reports/xtest-adain-p16/results.json reports/xtest-adain/results.json

A `flowstyle eval metrics` run's results.json counts as the "model" named by its folder, with a
row per model it scored (clipped share converted to percent, border = grid_border).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from flowstyle.eval.metrics import median_worst

KEYS = ("style_match", "ssim", "clipped", "grid", "border")


def load(name: str) -> dict:
    """A `default_path_choice --json` file as it is; a `flowstyle eval` results.json in the same
    shape (model = its folder's name, a row per scored model, pairs content-major as eval runs them)."""
    data = json.loads(Path(name).read_text())
    if "sections" not in data:
        return data
    pairs = [[c["name"], s["name"]] for c in data["contents"] for s in data["styles"]]
    metrics = data["sections"]["Metrics"]
    rows = {
        model: {"style_match": m["style_match"], "ssim": m["ssim"],
                "clipped": [100 * v for v in m["clipped"]], "grid": m["grid"], "border": m["grid_border"]}
        for model, m in metrics.items() if model in data["models"]
    }
    return {"model": Path(name).resolve().parent.name, "pairs": pairs, "rows": rows}


def pooled(files: list[str]) -> dict[str, dict[tuple[str, str], dict[str, float]]]:
    """row label -> (content, style) -> scores, over every file (a pair seen twice keeps the last).
    When the files are of more than one model, each label is "model: label" (a candidate's
    paths against the shipped model's)."""
    rows: dict[str, dict[tuple[str, str], dict[str, float]]] = {}
    loaded = [load(name) for name in files]
    several = len({data["model"] for data in loaded}) > 1
    for data in loaded:
        for label, scores in data["rows"].items():
            row = rows.setdefault(f"{data['model']}: {label}" if several else label, {})
            for k, pair in enumerate(data["pairs"]):
                row[tuple(pair)] = {key: scores[key][k] for key in KEYS}
    return rows


def shared_pairs(rows: dict[str, dict[tuple[str, str], dict[str, float]]]) -> list[tuple[str, str]]:
    """The (content, style) pairs every row has, sorted."""
    return sorted(set.intersection(*(set(r) for r in rows.values())))


def compare(rows: dict[str, dict[tuple[str, str], dict[str, float]]], reference: str) -> dict[str, dict[str, float]]:
    """For each row label, over the pairs every row has: medians, worst deciles, pairs below 0,
    and (except for the reference) the median per-pair difference from the reference and how
    many pairs got worse, for style match, SSIM and clipping."""
    ref = rows[reference]
    pairs = shared_pairs(rows)
    out: dict[str, dict[str, float]] = {}
    for label, row in rows.items():
        v = {key: np.array([row[q][key] for q in pairs]) for key in KEYS}
        sm_med, sm_worst = median_worst(v["style_match"])
        grid, grid_worst = median_worst(v["grid"], False)
        border, border_worst = median_worst(v["border"], False)
        r = {"pairs": len(pairs), "style_match": sm_med, "style_worst": sm_worst,
             "below_zero": int((v["style_match"] < 0).sum()), "ssim": float(np.median(v["ssim"])),
             "clipped": float(np.median(v["clipped"])), "clipped_mean": float(v["clipped"].mean()),
             "grid": grid, "grid_worst": grid_worst, "border": border, "border_worst": border_worst}
        if label != reference:
            for key in ("style_match", "ssim", "clipped"):
                d = v[key] - np.array([ref[q][key] for q in pairs])
                r[f"d_{key}"] = float(np.median(d))
                r[f"worse_{key}"] = int((d > 0).sum() if key == "clipped" else (d < 0).sum())
        out[label] = r
    return out


def bootstrap(
    rows: dict[str, dict[tuple[str, str], dict[str, float]]], reference: str, key: str = "style_match",
    n: int = 2000, seed: int = 0,
) -> dict[str, dict[str, tuple[float, float]]]:
    """5-95 % intervals of two ways to say how far a row is from the reference on `key`: the
    difference of the medians over pairs, and the median of the per-pair differences.

    The pairs cross a few contents with a few styles, so a pair-level resample would understate
    the spread: each replicate draws contents and styles with replacement and takes every pair
    of the drawn ones (a two-way bootstrap)."""
    pairs = shared_pairs(rows)
    contents = sorted({c for c, _ in pairs})
    styles = sorted({s for _, s in pairs})
    index = {q: k for k, q in enumerate(pairs)}
    values = {label: np.array([row[q][key] for q in pairs]) for label, row in rows.items()}
    rng = np.random.default_rng(seed)
    draws = {label: {"medians": [], "paired": []} for label in rows if label != reference}
    for _ in range(n):
        cs = rng.choice(len(contents), len(contents))
        ss = rng.choice(len(styles), len(styles))
        pick = np.array([index[(contents[c], styles[t])] for c in cs for t in ss if (contents[c], styles[t]) in index])
        ref = values[reference][pick]
        for label, d in draws.items():
            v = values[label][pick]
            d["medians"].append(np.median(v) - np.median(ref))
            d["paired"].append(np.median(v - ref))
    return {label: {kind: (float(np.percentile(x, 5)), float(np.percentile(x, 95))) for kind, x in d.items()}
            for label, d in draws.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("reference", help="the row label to compare against, e.g. 16")
    p.add_argument("files", nargs="+")
    p.add_argument("--rows", nargs="+", default=None, help="only these row labels (and the reference)")
    p.add_argument("--unrounded", action="store_true",
                   help="paired medians to 5 decimals and worst deciles to 3 (for margins read at 3 decimals)")
    p.add_argument("--bootstrap", type=int, default=0, metavar="N",
                   help="also print 5-95%% intervals (N two-way resamples of contents and styles) of the "
                        "difference of medians and of the paired median, for style match, SSIM and clipping")
    args = p.parse_args()
    rows = pooled(args.files)
    if args.reference not in rows:
        raise SystemExit(f"no row {args.reference!r}; rows: {', '.join(rows)}")
    if args.rows:
        rows = {label: rows[label] for label in rows if label in args.rows or label == args.reference}
    table = compare(rows, args.reference)
    dp, dw = (5, 3) if args.unrounded else (3, 2)
    print(f"{next(iter(table.values()))['pairs']} distinct pairs in every row, pooled from {', '.join(args.files)}\n")
    print("| path | style match (median / worst decile / < 0) | SSIM | clipped % (median / mean) | grid (median / worst decile) | border | paired vs reference: style, SSIM, clipped (median diff; pairs worse) |")
    print("|---|---|---|---|---|---|---|")
    for label, r in table.items():
        paired = "reference" if label == args.reference else (
            f"{r['d_style_match']:+.{dp}f} ({r['worse_style_match']}), "
            f"{r['d_ssim']:+.{dp}f} ({r['worse_ssim']}), "
            f"{r['d_clipped']:+.{dp if args.unrounded else 2}f} ({r['worse_clipped']})")
        print(f"| {label} | {r['style_match']:+.3f} / {r['style_worst']:+.2f} / {r['below_zero']}/{r['pairs']} | "
              f"{r['ssim']:.3f} | {r['clipped']:.2f} / {r['clipped_mean']:.2f} | "
              f"{r['grid']:.2f} / {r['grid_worst']:.{dw}f} | {r['border']:.2f} / {r['border_worst']:.{dw}f} | {paired} |")

    if args.bootstrap:
        print(f"\n5-95 % intervals over {args.bootstrap} two-way resamples (contents and styles drawn with replacement):\n")
        print("| path | score | difference of medians | median of per-pair differences |")
        print("|---|---|---|---|")
        for key in ("style_match", "ssim", "clipped"):
            for label, r in bootstrap(rows, args.reference, key, args.bootstrap).items():
                (a, b), (c, d) = r["medians"], r["paired"]
                print(f"| {label} | {key} | {a:+.3f} .. {b:+.3f} | {c:+.3f} .. {d:+.3f} |")


if __name__ == "__main__":
    main()

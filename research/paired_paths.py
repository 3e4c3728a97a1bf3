"""Pool `default_path_choice --json` files and compare each path with a reference path, pair by pair.

A path's median clipped share over pairs can jump by a point when a few pairs move by a tenth
across a gap in the distribution (session 13: artflow-adaattn-1x16's 4-phase and 2-pass medians
5.7 vs 6.8 % with a paired median difference of 0.00). So next to the medians over the pooled
pairs (each distinct content x style pair once, the pairs every row has; --rows to leave rows
out) this prints, for each path against the reference, the median of the per-pair differences,
how many pairs got worse, and the mean clipped share.

    .venv/bin/python -m research.paired_paths 16 reports/a.json reports/b.json
    .venv/bin/python -m research.paired_paths "artflow-adaattn: 16" reports/a.json reports/candidate.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from flowstyle.eval.metrics import median_worst

KEYS = ("style_match", "ssim", "clipped", "grid", "border")


def pooled(files: list[str]) -> dict[str, dict[tuple[str, str], dict[str, float]]]:
    """row label -> (content, style) -> scores, over every file (a pair seen twice keeps the last).
    When the files are of more than one model, each label is "model: label" (a candidate's
    paths against the shipped model's)."""
    rows: dict[str, dict[tuple[str, str], dict[str, float]]] = {}
    loaded = [json.loads(Path(name).read_text()) for name in files]
    several = len({data["model"] for data in loaded}) > 1
    for data in loaded:
        for label, scores in data["rows"].items():
            row = rows.setdefault(f"{data['model']}: {label}" if several else label, {})
            for k, pair in enumerate(data["pairs"]):
                row[tuple(pair)] = {key: scores[key][k] for key in KEYS}
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("reference", help="the row label to compare against, e.g. 16")
    p.add_argument("files", nargs="+")
    p.add_argument("--rows", nargs="+", default=None, help="only these row labels (and the reference)")
    args = p.parse_args()
    rows = pooled(args.files)
    if args.reference not in rows:
        raise SystemExit(f"no row {args.reference!r}; rows: {', '.join(rows)}")
    if args.rows:
        rows = {label: rows[label] for label in rows if label in args.rows or label == args.reference}
    ref = rows[args.reference]
    pairs = sorted(set.intersection(*(set(r) for r in rows.values())))
    print(f"{len(pairs)} distinct pairs in every row, pooled from {', '.join(args.files)}\n")
    print("| path | style match (median / worst decile / < 0) | SSIM | clipped % (median / mean) | grid (median / worst decile) | border | paired vs reference: style, SSIM, clipped (median diff; pairs worse) |")
    print("|---|---|---|---|---|---|---|")
    for label, row in rows.items():
        v = {key: np.array([row[q][key] for q in pairs]) for key in KEYS}
        d = {key: v[key] - np.array([ref[q][key] for q in pairs]) for key in ("style_match", "ssim", "clipped")}
        sm = v["style_match"]
        sm_med, sm_worst = median_worst(sm)
        grid, grid_worst = median_worst(v["grid"], False)
        border, border_worst = median_worst(v["border"], False)
        paired = "reference" if label == args.reference else (
            f"{np.median(d['style_match']):+.3f} ({(d['style_match'] < 0).sum()}), "
            f"{np.median(d['ssim']):+.3f} ({(d['ssim'] < 0).sum()}), "
            f"{np.median(d['clipped']):+.2f} ({(d['clipped'] > 0).sum()})")
        print(f"| {label} | {sm_med:+.3f} / {sm_worst:+.2f} / {(sm < 0).sum()}/{len(sm)} | "
              f"{np.median(v['ssim']):.3f} | {np.median(v['clipped']):.2f} / {v['clipped'].mean():.2f} | "
              f"{grid:.2f} / {grid_worst:.2f} | {border:.2f} / {border_worst:.2f} | {paired} |")


if __name__ == "__main__":
    main()

"""Pool `default_path_choice --json` files and compare each path with a reference path, pair by pair.

A path's median clipped share over pairs can jump by a point when a few pairs move by a tenth
across a gap in the distribution (session 13: artflow-adaattn-1x16's 4-phase and 2-pass medians
5.7 vs 6.8 % with a paired median difference of 0.00). So next to the medians over the pooled
pairs (each distinct content x style pair once, the pairs every row has; --rows to leave rows
out) this prints, for each path against the reference, the median of the per-pair differences,
how many pairs got worse, and the mean clipped share.

    .venv/bin/python -m research.paired_paths 16 reports/a.json reports/b.json
    .venv/bin/python -m research.paired_paths "artflow-adaattn: 16" reports/a.json reports/candidate.json
    .venv/bin/python -m research.paired_paths 4 reports/s18/1x16-tone-p4-6x8.json reports/s18/1x16-tone-p2f-6x8.json --unrounded
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


def compare(rows: dict[str, dict[tuple[str, str], dict[str, float]]], reference: str) -> dict[str, dict[str, float]]:
    """For each row label, over the pairs every row has: medians, worst deciles, pairs below 0,
    and (except for the reference) the median per-pair difference from the reference and how
    many pairs got worse, for style match, SSIM and clipping."""
    ref = rows[reference]
    pairs = sorted(set.intersection(*(set(r) for r in rows.values())))
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("reference", help="the row label to compare against, e.g. 16")
    p.add_argument("files", nargs="+")
    p.add_argument("--rows", nargs="+", default=None, help="only these row labels (and the reference)")
    p.add_argument("--unrounded", action="store_true",
                   help="paired medians to 5 decimals and worst deciles to 3 (rules compare at 3 decimals)")
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


if __name__ == "__main__":
    main()

"""A one-block flow's 2-pass path with the lattice filter split by component (docs/grid.md).

Averaging the passes for shifts (0,0) and (1,1) cancels the period-2 stripes of a one-block flow
(frequencies (1/2, 0) and (0, 1/2)) but not its checkerboard (1/2, 1/2); the lattice filter
(`flowstyle/image/lattice.py`) notches all three with one Gaussian width unless it is given
another for the checkerboard (`diagonal_sigma`, the option `grid_filter_diagonal`). A narrower
checkerboard width follows the checkerboard's amplitude more closely without notching the
style's own texture near the stripe frequencies as widely. The row "S:S" is the one-width filter.

Each pair is stylized once with the path unfiltered; every variant filters that output where the
pipeline's filter would, on the padded image before the crop (the stylizer's filter step is
swapped for one that keeps its input for the duration of the call). Scores are `research.pair_scores`' plus the grid ratios
on the period-2 lines only (`grid_p2`, `border_p2`: the one-block flow's whole lattice). The JSON
is `research.paired_paths`' format: compare with the model's 4-phase rows of
`research.default_path_choice` on the same pairs (same `--name`).

    python -m research.lattice_variants artflow-adaattn-1x16 --content data/splits/xval/content
        --styles data/splits/xval/style --size 512 --max-images 6 --max-styles 8
        --variants 1.5:1.5 1.5:1 2:1 0:1 --name "artflow-adaattn-1x16 tone" --json FILE
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

import flowstyle.pipeline.stylizer as stylizer_module
from flowstyle import Stylizer, StylizeOptions
from flowstyle.eval import metrics as M
from flowstyle.eval.runners import image_paths, load_images
from flowstyle.image.lattice import remove_lattice
from research.pair_scores import PairScores

def _unfiltered_padded(st: Stylizer, content: Tensor, style: Tensor, opts: StylizeOptions) -> tuple[Tensor, Tensor]:
    """The path's output and the content, both padded as the pipeline has them before its filter."""
    kept = {}

    def keep(total: Tensor, base: Tensor, period: int, sigma: float, **_: object) -> Tensor:
        kept["total"], kept["base"] = total.clone(), base.clone()
        return total

    original = stylizer_module.remove_lattice
    stylizer_module.remove_lattice = keep
    try:
        out = st.stylize_tensor(content, [style], options=opts)
    finally:
        stylizer_module.remove_lattice = original
    if out.shape[-2:] != content.shape[-2:]:
        raise ValueError("the content must be at the stylizer's size (load it at --size)")
    return kept["total"], kept["base"]


def _variant(text: str) -> tuple[str, dict[str, float]]:
    stripes, _, checker = text.partition(":")
    return text, {"stripes": float(stripes), "checker": float(checker or stripes)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--content", nargs="+", required=True)
    p.add_argument("--styles", nargs="+", required=True)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--max-images", type=int, default=6)
    p.add_argument("--max-styles", type=int, default=8)
    p.add_argument("--phases", type=int, default=2)
    p.add_argument("--variants", nargs="+", default=["1.5:1.5", "1.5:1", "2:1", "0:1"],
                   metavar="STRIPES:CHECKER", help="filter widths in px per component (0: not filtered)")
    p.add_argument("--reference", type=int, default=None, metavar="PHASES",
                   help="also score the unfiltered path with this many phases (e.g. 4: all of a one-block flow's) as a row of its own")
    p.add_argument("--name", default=None, help="the model's name in the JSON (paired_paths pairs rows by it)")
    p.add_argument("--json", required=True)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    contents = load_images(image_paths(args.content, args.max_images), args.size)
    styles = load_images(image_paths(args.styles, args.max_styles), args.size)
    st = Stylizer(args.model)
    opts = StylizeOptions(work_size=0, recipe=dict(phases=args.phases, deep_phases=1, gain=1.0, grid_filter=0.0, grid_filter_diagonal=None))
    variants = dict(_variant(v) for v in args.variants)
    labels = [f"{args.phases} + components {v}" for v in variants]
    reference = StylizeOptions(work_size=0, recipe=dict(phases=args.reference, deep_phases=1, gain=1.0, grid_filter=0.0, grid_filter_diagonal=None)) if args.reference else None
    if reference:
        labels.append(f"{args.reference} (reference)")
    scores = {label: PairScores() for label in labels}
    period_2 = {label: {"grid_p2": [], "border_p2": []} for label in labels}  # the one-block lattice's own lines
    pairs, rows = [], {}
    for c in contents:
        for s in styles:
            start = time.perf_counter()
            padded, base = _unfiltered_padded(st, c.tensor, s.tensor, opts)
            seconds = time.perf_counter() - start
            h, w = c.tensor.shape[-2:]
            pairs.append((c.name, s.name))
            outputs = [remove_lattice(padded, base, st.multiple, widths["stripes"], diagonal_sigma=widths["checker"])[..., opts.pad : opts.pad + h, opts.pad : opts.pad + w].clamp(0, 1)
                       for widths in variants.values()]
            times = [seconds] * len(outputs)
            if reference:
                start = time.perf_counter()
                outputs.append(st.stylize_tensor(c.tensor, [s.tensor], options=reference))
                times.append(time.perf_counter() - start)
            for out, seconds, label in zip(outputs, times, labels):
                scores[label].add(out, c.tensor, s.tensor, seconds, grid=True)
                period_2[label]["grid_p2"].append(M.grid_ratio(out, c.tensor, period=2))
                period_2[label]["border_p2"].append(M.grid_ratio(out, c.tensor, M.BORDER, period=2))
            rows = {label: {**dataclasses.asdict(scores[label]), **period_2[label]} for label in labels}
            print(c.name[:24], s.name[:24], " ".join(f"{label}: b{scores[label].border[-1]:.3f}" for label in labels), flush=True)
            Path(args.json).write_text(json.dumps({"model": args.name or args.model, "pairs": pairs, "rows": rows}, indent=1))
    for label, row in rows.items():
        print(f"| {label} | " + " | ".join(f"{k} {np.median(v):.3f} / {M.median_worst(v, k in ('style_match', 'ssim'))[1]:.3f}" for k, v in row.items()))


if __name__ == "__main__":
    main()

"""Choose a model's default path on the cross-source validation split (xval).

For each phase count (1, 2, 4; gain 1 unless --gain), and each --filtered PHASES:PX (those phases with the
lattice filter of that width, image/lattice.py), over content x style pairs through the real
pipeline: style match, SSIM, clipped share and grid ratio (whole image and border band), medians
and the worst decile. The default is the fewest passes whose worst-decile grid ratio stays <= 1.1.

    .venv/bin/python -m research.default_path_choice runs/adain-2x8/model.safetensors \
        --content data/splits/xval/content --styles data/splits/xval/style --size 256 --max-images 4
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch

from flowstyle import Stylizer, StylizeOptions
from flowstyle.eval.runners import image_paths, load_images
from research.pair_scores import grid_of, score_pairs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--content", nargs="+", required=True)
    p.add_argument("--styles", nargs="+", required=True)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--max-images", type=int, default=4)
    p.add_argument("--max-styles", type=int, default=None)
    p.add_argument("--phases", type=int, nargs="*", default=[1, 2, 4])
    p.add_argument("--filtered", nargs="+", default=[], metavar="PHASES:PX", help="rows with the lattice filter, e.g. 1:2 1:3; PHASES/DEEP:PX also averages the deepest block over DEEP of its phases, e.g. 1/4:2")
    p.add_argument("--method", default=None)
    p.add_argument("--gain", type=float, default=1.0, help="the style change's gain on every row")
    p.add_argument("--anchor", type=float, default=None, help="override the model's anchor (AdaAttN)")
    p.add_argument("--anchor-stats", default=None, help="override the model's anchor stats (mean-std, covariance)")
    p.add_argument("--anchor-near", type=float, default=None, help="override the model's anchor near fade (AdaAttN; 0: off)")
    p.add_argument("--json", default=None, help="also write every row's per-pair scores here (paired comparisons)")
    p.add_argument("--name", default=None, help="the model's name in the --json file (default: the model argument); "
                   "a candidate setting of a shipped model needs its own, or paired_paths pools its rows with the model's")
    p.add_argument("--threads", type=int, default=2, help="torch threads (1 beside a training run)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    contents = load_images(image_paths(args.content, args.max_images), args.size)
    styles = load_images(image_paths(args.styles, args.max_styles or args.max_images), args.size)
    st = Stylizer(args.model)
    overrides = {k: v for k, v in dict(gain=args.gain, anchor=args.anchor, anchor_stats=args.anchor_stats, anchor_near=args.anchor_near).items() if v is not None}
    print(f"{args.model}: {len(contents)} contents x {len(styles)} styles at {args.size} px, "
          f"gain {args.gain:g}" + (f", anchor {args.anchor:g}" if args.anchor is not None else "")
          + (f" ({args.anchor_stats})" if args.anchor_stats else "")
          + (f", anchor near {args.anchor_near:g}" if args.anchor_near is not None else ""))
    paths = [(phases, 1, 0.0) for phases in args.phases] + [_filtered(text) for text in args.filtered]
    print("| phases | style match (median / worst decile / pairs < 0) | SSIM | clipped % | grid ratio (median / worst) | grid border (median / worst) | s / pair |")
    print("|---|---|---|---|---|---|---|")
    pair_names = [(c.name, s.name) for c in contents for s in styles]
    rows = {}
    for phases, deep, grid_filter in paths:
        opts = StylizeOptions(method=args.method, recipe=dict(phases=phases, deep_phases=deep, grid_filter=grid_filter, grid_filter_diagonal=None, **overrides))
        scores = score_pairs(lambda c, s: st.stylize_tensor(c, [s], options=opts), grid_of(contents, styles), grid=True)
        label = f"{phases}/{deep}" if deep != 1 else f"{phases}"
        label += f" + filter {grid_filter:g} px" if grid_filter else ""
        print(f"| {label} | {scores.grid_cells()} | {scores.mean_seconds:.1f} |", flush=True)
        rows[label] = dataclasses.asdict(scores)
        if args.json:
            Path(args.json).write_text(json.dumps({"model": args.name or args.model, "pairs": pair_names, "rows": rows}, indent=1))


def _filtered(text: str) -> tuple[int, int, float]:
    """PHASES[/DEEP]:PX -> (phases, deep phases, filter width)."""
    phases, _, width = text.partition(":")
    phases, _, deep = phases.partition("/")
    return int(phases), int(deep or 1), float(width or 0)


if __name__ == "__main__":
    main()

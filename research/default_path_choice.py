"""Choose a model's default path on the cross-source validation split (xval).

For each phase count (1, 2, 4; gain 1), over content x style pairs through the real pipeline:
style match, SSIM, clipped share and grid ratio (whole image and border band), medians and the
worst decile. The default is the fewest passes whose worst-decile grid ratio stays <= 1.1.

    .venv/bin/python research/default_path_choice.py runs/adain-2x8/model.safetensors \
        --content data/splits/xval/content --styles data/splits/xval/style --size 256 --max-images 4
"""

from __future__ import annotations

import argparse
import time

import torch

from flowstyle import Stylizer, StylizeOptions
from flowstyle.eval import metrics as M
from flowstyle.eval.runners import image_paths, load_images


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--content", nargs="+", required=True)
    p.add_argument("--styles", nargs="+", required=True)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--max-images", type=int, default=4)
    p.add_argument("--max-styles", type=int, default=None)
    p.add_argument("--phases", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--method", default=None)
    p.add_argument("--threads", type=int, default=2, help="torch threads (1 beside a training run)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    contents = load_images(image_paths(args.content, args.max_images), args.size)
    styles = load_images(image_paths(args.styles, args.max_styles or args.max_images), args.size)
    st = Stylizer(args.model)
    print(f"{args.model}: {len(contents)} contents x {len(styles)} styles at {args.size} px, gain 1")
    print("| phases | style match (median / worst decile / pairs < 0) | SSIM | clipped % | grid ratio (median / worst) | grid border (median / worst) |")
    print("|---|---|---|---|---|---|")
    for phases in args.phases:
        opts = StylizeOptions(phases=phases, gain=1.0, method=args.method)
        cells, _ = score_pairs(lambda c, s: st.stylize_tensor(c, [s], options=opts), contents, styles)
        print(f"| {phases} | {cells} |", flush=True)


def score_pairs(stylize, contents, styles) -> tuple[str, float]:
    """Run `stylize(content, style)` (tensors) over every pair; the table cells (style match
    median / worst decile / pairs < 0 | SSIM | clipped % | grid | grid border) and the mean
    seconds per pair."""
    sm, ss, cl, gr, gb, secs = [], [], [], [], [], []
    for c in contents:
        for s in styles:
            t = time.perf_counter()
            out = stylize(c.tensor, s.tensor)
            secs.append(time.perf_counter() - t)
            sm.append(M.style_match(out, c.tensor, s.tensor))
            ss.append(M.ssim_luminance(out, c.tensor))
            cl.append(100 * M.clipped_fraction(out))
            gr.append(M.grid_ratio(out, c.tensor))
            gb.append(M.grid_ratio(out, c.tensor, M.BORDER))
    m, w = M.median_worst(sm)
    g, gw = M.median_worst(gr, False)
    b, bw = M.median_worst(gb, False)
    cells = (f"{m:+.2f} / {w:+.2f} / {sum(v < 0 for v in sm)}/{len(sm)} | {M.median_worst(ss)[0]:.2f} | "
             f"{M.median_worst(cl, False)[0]:.1f} | {g:.2f} / {gw:.2f} | {b:.2f} / {bw:.2f}")
    return cells, sum(secs) / len(secs)

if __name__ == "__main__":
    main()

"""Choose a model's default path on the cross-source validation split (xval).

For each phase count (1, 2, 4; gain 1), over content x style pairs through the real pipeline:
style match, SSIM, clipped share and grid ratio (whole image and border band), medians and the
worst decile. The default is the fewest passes whose worst-decile grid ratio stays <= 1.1.

    .venv/bin/python -m research.default_path_choice runs/adain-2x8/model.safetensors \
        --content data/splits/xval/content --styles data/splits/xval/style --size 256 --max-images 4
"""

from __future__ import annotations

import argparse

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
        scores = score_pairs(lambda c, s: st.stylize_tensor(c, [s], options=opts), grid_of(contents, styles), grid=True)
        print(f"| {phases} | {scores.grid_cells()} |", flush=True)


if __name__ == "__main__":
    main()

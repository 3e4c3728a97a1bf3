"""Experiment (issue 12): cheaper phase averaging by sharing the first block's passes.

A 2-block flow has two squeeze lattices: block 1's (2 px) and block 2's (4 px in the image).
The 16-phase default runs the whole flow 16 times. Here block 1 runs once per block-1 phase
and block 2 runs for each of its own phases on that shared block-1 output; the block-2 outputs
are averaged in block-1 space before block 1 decodes. Schemes are written "A/B": A block-1
shifts, B block-2 shifts, e.g. "1/4" = one block-1 pass, four block-2 phases; "pN" = the pipeline's `phases=N`
(whole-flow passes; since session 4, p16 is itself the nested 4/4 plan, pipeline/phases.py:
the p16 row of docs/grid.md was measured with the code before that change).

    .venv/bin/python -m research.shared_phases flowstyle/weights/artflow-adain.safetensors \
        --content data/splits/xval/content --styles data/splits/xval/style --size 256 --threads 1
"""

from __future__ import annotations

import argparse

import torch

from flowstyle import Stylizer, StylizeOptions
from flowstyle.eval.runners import image_paths, load_images
from flowstyle.image.transforms import pad as pad_image
from flowstyle.image.transforms import pad_to_multiple
from flowstyle.operators import transfer
from research.pair_scores import grid_of, score_pairs

SHIFTS = {1: [(0, 0)], 2: [(0, 0), (1, 1)], 3: [(0, 0), (0, 1), (1, 0)], 4: [(0, 0), (0, 1), (1, 0), (1, 1)]}


def _shift(x, dy, dx, multiple, mode):
    h, w = x.shape[-2:]
    return pad_image(x, dx, (-(w + dx)) % multiple, dy, (-(h + dy)) % multiple, mode)


def shared_stylize(st: Stylizer, content, style, n1: int, n2: int, pad: int = 64) -> torch.Tensor:
    flow = st.model.flow
    b1, b2 = flow.blocks
    x = content
    h, w = x.shape[-2:]
    z_s = st.encode_style(style, max(h, w))
    base = pad_to_multiple(x, pad, 4, "reflect")
    total = None
    with torch.inference_mode():
        for ay, ax in SHIFTS[n1]:
            img = _shift(base, ay, ax, 2, "reflect")
            hb = b1(img)
            hh, hw = hb.shape[-2:]
            acc = torch.zeros_like(hb)
            for by, bx in SHIFTS[n2]:
                hp = _shift(hb, by, bx, 2, "reflect")
                z = transfer("adain", b2(hp), [z_s], 1.0)
                acc += b2.reverse(z)[..., by : by + hh, bx : bx + hw]
            out = b1.reverse(acc / len(SHIFTS[n2]))[..., ay + pad : ay + pad + h, ax + pad : ax + pad + w]
            total = out if total is None else total + out
    return (total / len(SHIFTS[n1])).clamp(0, 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--content", nargs="+", required=True)
    p.add_argument("--styles", nargs="+", required=True)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--max-images", type=int, default=4)
    p.add_argument("--max-styles", type=int, default=None)
    p.add_argument("--schemes", nargs="+", default=["1/1", "1/4", "2/4", "4/4", "p4"])
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    contents = load_images(image_paths(args.content, args.max_images), args.size)
    styles = load_images(image_paths(args.styles, args.max_styles or args.max_images), args.size)
    st = Stylizer(args.model)
    print(f"{args.model}: {len(contents)} contents x {len(styles)} styles at {args.size} px")
    print("| scheme | s/image | style match (median / worst / pairs < 0) | SSIM | clipped % | grid (median / worst) | border (median / worst) |")
    print("|---|---|---|---|---|---|---|")
    for scheme in args.schemes:
        if scheme.startswith("p"):
            opts = StylizeOptions(phases=int(scheme[1:]), gain=1.0)
            scores = score_pairs(lambda c, s: st.stylize_tensor(c, [s], options=opts), grid_of(contents, styles), grid=True)
        else:
            n1, n2 = map(int, scheme.split("/"))
            scores = score_pairs(lambda c, s: shared_stylize(st, c, s, n1, n2), grid_of(contents, styles), grid=True)
        print(f"| {scheme} | {scores.mean_seconds:.2f} | {scores.grid_cells()} |", flush=True)

if __name__ == "__main__":
    main()

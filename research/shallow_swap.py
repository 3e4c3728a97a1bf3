"""The patch operator after fewer of the flow's blocks: finer latent positions, crisper marks.

A two-block flow's latent has one position per 4 x 4 pixels, and the patch operator's fold
averages 9 overlapping blocks of them: the result is softer than the photo (research.edge_energy).
After the first block alone a position is 2 x 2 pixels (the one-block model's grain). This runs the
default path's pieces by hand, at depth 1 or 2: the working size (384 px, carried to the photo's
size with the photo as the guide), 32 px of reflected border, the patch operator at the model's
balance, the lattice filter for the depth's grid (2 px at depth 2; 1 px and 0.75 px for the
checkerboard at depth 1, as the one-block model's recipe):

    python -m research.shallow_swap --model artflow-adain --content data/choice-paint/content \
        --styles data/choice-paint/style --out runs/shallow-paint [--save-images]
"""

from __future__ import annotations

import torch
from torch import Tensor

from flowstyle.image.guided import guided_upsample
from flowstyle.image.lattice import remove_lattice
from flowstyle.image.transforms import center_crop_to_multiple, pad_to_multiple, resize_longest
from flowstyle.models import load_model
from flowstyle.operators import patch as patch_module
from flowstyle.operators.patch import style_decorator
from flowstyle.pipeline.options import PAD, WORK_SIZE as WORK
from research.pair_scores import score_variants, variant_table
from research.probes import load_pairs, pair_parser, save_table

FILTERS = {2: (2.0, None), 1: (1.0, 0.75)}  # depth -> (lattice filter px, its checkerboard px)


def painter(flow, depth: int, work: int = WORK, scale: int = patch_module.DECORATOR_SCALE):
    m = 2**depth
    sigma, diagonal = FILTERS[depth]

    def paint(content: Tensor, style: Tensor) -> Tensor:
        with torch.inference_mode():
            small = resize_longest(content, work) if max(content.shape[-2:]) > work else content
            style = center_crop_to_multiple(resize_longest(style, max(small.shape[-2:])), m)
            h, w = small.shape[-2:]
            base = pad_to_multiple(small, PAD, m, "reflect")
            z_c, z_s = flow.encode_blocks(base, 0, depth), flow.encode_blocks(style, 0, depth)
            z = style_decorator(z_c, z_s, scale=scale)
            out = flow.decode_blocks(z, 0, depth)
            out = remove_lattice(out, base, m, sigma, diagonal_sigma=diagonal)[..., PAD : PAD + h, PAD : PAD + w]
            out = out.clamp(0, 1)
            return guided_upsample(out, small, content) if small.shape != content.shape else out
    return paint


def main() -> None:
    ap = pair_parser()
    ap.add_argument("--save-images", action="store_true")
    ap.add_argument("--work", type=int, nargs="+", default=[WORK])
    ap.add_argument("--depth1-scales", type=int, nargs="+", default=[patch_module.DECORATOR_SCALE],
                    help="at depth 1, match on latents pooled this many times (2: 12 px blocks, 4: 24 px)")
    args = ap.parse_args()
    contents, styles, out = load_pairs(args)
    flow = load_model(args.model).flow.eval()
    variants = {}
    for work in args.work:
        suffix = "" if work == WORK else f"-work{work}"
        variants["depth2" + suffix] = painter(flow, 2, work)
        for scale in args.depth1_scales:
            name = "depth1" + ("" if scale == patch_module.DECORATOR_SCALE else f"-scale{scale}")
            variants[name + suffix] = painter(flow, 1, work, scale)
    scores = score_variants(contents, styles, variants, out if args.save_images else None)
    save_table(out, variant_table(scores, texture_mean=True), {name: vars(s) for name, s in scores.items()})


if __name__ == "__main__":
    main()

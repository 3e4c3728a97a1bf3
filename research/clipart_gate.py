"""A validation gate made of the kind of pair the 1-block model still fails: clip art on white.

The cross-source test's remaining misses for `artflow-adaattn-1x16` are clip-art stamps on white
crossed with each other or with a photo already close to them (docs/generalisation.md). xval at the test's protocol held no such pair, so it could not predict them. This gate
builds them from xval's own clip-art sources only (nothing from the test split):

- styles: the xval styles of the clip-art sources (`cards`, the card-deck sheets on white, and
  `tuberling`, sticker scenes);
- contents: every xval content plus those same clip-art images used as contents;
- pairs: ranked by the VGG style loss between content and style at 256 px (the smallest first,
  as `anchor_choice.hardest_pairs`), a content never paired with itself, at most `--per-image`
  pairs per content and per style so that no single deck fills the gate; the first `--pairs` kept.

Each model then runs the test's protocol on them: 512 px, its default path, pad 64 reflect.
The rule, fixed before running: a candidate replaces the shipped 1-block model only if it has
fewer gate pairs below 0 (ties: the higher worst pair), with median style match and SSIM on the
gate within 0.02 of the shipped model's.

    .venv/bin/python -m research.clipart_gate artflow-adaattn-1x16 runs/X/model.safetensors --threads 1
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
import torch

from flowstyle import Stylizer, StylizeOptions
from flowstyle.eval.runners import image_paths, load_images
from flowstyle.operators import latent_distance
from research.anchor_choice import hardest_pairs
from research.pair_scores import score_pairs

CLIPART_SOURCES = ("cards__", "tuberling__")


def gate_pairs(contents, styles, n: int, per_image: int, keep=None) -> list[tuple[int, int, float]]:
    """The n lowest-loss (content, style) pairs, at most per_image per content and per style;
    keep(i, j): an extra condition a pair must meet."""
    ranked = hardest_pairs(contents, styles, len(contents) * len(styles))
    used_c: Counter = Counter()
    used_s: Counter = Counter()
    kept = []
    for i, j, loss in ranked:
        if contents[i].name == styles[j].name or used_c[i] >= per_image or used_s[j] >= per_image:
            continue
        if keep is not None and not keep(i, j):
            continue
        kept.append((i, j, loss))
        used_c[i] += 1
        used_s[j] += 1
        if len(kept) == n:
            break
    return kept


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--content", default="data/splits/xval/content")
    p.add_argument("--styles", default="data/splits/xval/style")
    p.add_argument("--pairs", type=int, default=16)
    p.add_argument("--per-image", type=int, default=2)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--anchor", type=float, default=None, help="override the models' anchor")
    p.add_argument("--anchor-stats", default=None, help="override the models' anchor stats (mean-std, covariance)")
    p.add_argument("--anchor-near", type=float, default=None, help="override the models' anchor near fade (0: off)")
    p.add_argument("--method", default=None, help="override the models' transfer operator (adain, wct, adaattn)")
    p.add_argument("--min-distance", type=float, default=None, metavar="D",
                   help="keep only pairs whose latent distance (operators.latent_distance, the first model's "
                        "flow and anchor statistics, 256 px) is at least D: near to VGG, not in latent statistics")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    clip_paths = [q for q in image_paths([args.styles], None) if q.name.startswith(CLIPART_SOURCES)]
    content_paths = image_paths([args.content], None) + clip_paths
    small_c, small_s = load_images(content_paths, 256), load_images(clip_paths, 256)
    keep, distance = None, None
    if args.min_distance is not None:
        distance = latent_distances(Stylizer(args.models[0]), small_c, small_s)
        keep = lambda i, j: distance[i][j] >= args.min_distance  # noqa: E731
    pairs = gate_pairs(small_c, small_s, args.pairs, args.per_image, keep)
    print(f"{len(small_c)} contents x {len(small_s)} clip-art styles; gate of {len(pairs)} pairs, "
          f"style loss(content, style) {pairs[0][2]:.1f} .. {pairs[-1][2]:.1f}"
          + (f", latent distance >= {args.min_distance:g}" if distance else "")
          + f"; {args.size} px, default path, pad 64 reflect\n")
    for i, j, loss in pairs:
        print(f"- {small_c[i].name} x {small_s[j].name} ({loss:.1f}" + (f"; d {distance[i][j]:.2f}" if distance else "") + ")")
    contents = load_images([content_paths[i] for i, _, _ in pairs], args.size)
    styles = load_images([clip_paths[j] for _, j, _ in pairs], args.size)
    print("\n| model | style match median / worst / pairs < 0 | SSIM | clipped % (content) | s / pair |")
    print("|---|---|---|---|---|")
    opts = StylizeOptions(pad=64, pad_mode="reflect", method=args.method,
                          recipe={k: v for k, v in dict(anchor=args.anchor, anchor_stats=args.anchor_stats, anchor_near=args.anchor_near).items() if v is not None})
    for model in args.models:
        st = Stylizer(model)
        g = score_pairs(lambda c, s: st.stylize_tensor(c, [s], options=opts),
                        [(c.tensor, s.tensor) for c, s in zip(contents, styles)])
        print(f"| {model} | {g.style_match_cell()} | {np.median(g.ssim):.2f} | {np.median(g.clipped):.1f} "
              f"({np.median(g.content_clipped):.1f}) | {g.mean_seconds:.1f} |", flush=True)
        print(f"  per pair: {' '.join(f'{v:+.3f}' for v in g.style_match)}", flush=True)
        print(f"  unrounded medians (the rule's margins): style match {np.median(g.style_match):+.4f}, "
              f"SSIM {np.median(g.ssim):.4f}", flush=True)


def latent_distances(st: Stylizer, contents, styles) -> list[list[float]]:
    """distance[i][j]: `operators.latent_distance` of content i to style j in st's flow, with the
    statistics of its default anchor (covariance or mean-std)."""
    stats = st.model.defaults.recipe.anchor_stats
    z_c, z_s = ([st.encode_style(image.tensor, None) for image in images] for images in (contents, styles))
    return [[float(latent_distance(zc, zs, stats)) for zs in z_s] for zc in z_c]


if __name__ == "__main__":
    main()

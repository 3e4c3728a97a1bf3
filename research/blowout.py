"""Where does the blow-out come from? One flow pass per pair, no clamp: the decoded range.

For each model and operator, over content x style pairs: style match, SSIM, clipped share of
the clamped output, and the 0.1% / 99.9% quantiles of the *unclamped* decoded values (a decoder
that stays in range has them inside [0, 1]). Comparing a trained flow with an untrained one
(linear: zero-initialised couplings) separates the decoder's share from the operator's.

    .venv/bin/python research/blowout.py --content data/splits/xval/content \
        --styles data/splits/xval/style --models artflow-adain runs/untrained-w128.safetensors \
        --ops adain wct --size 256 --max-images 8
    .venv/bin/python research/blowout.py --write-probe-styles runs/probe_styles   # synthetic smooth styles
"""

from __future__ import annotations

import argparse
import statistics

import torch
import torch.nn.functional as F

from flowstyle import load_model
from flowstyle.eval import metrics as M
from flowstyle.eval.runners import image_paths, load_images
from flowstyle.operators import adain, wct

OPS = {"adain": adain, "wct": wct}


def write_probe_styles(folder: str, size: int = 256) -> None:
    """Synthetic desktop-art styles (no package's image): a pink-to-cyan gradient, a teal and
    magenta swoosh, a dark-to-orange corner glow. Smooth images are where the blow-out starts."""
    from pathlib import Path

    from flowstyle.image.io import save_image, tensor_to_image

    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")

    def mix(a, b, t):
        return torch.tensor(a)[:, None, None] * (1 - t) + torch.tensor(b)[:, None, None] * t

    swoosh = 0.5 + 0.5 * torch.sin(6 * xx + 4 * torch.sin(3 * yy))
    styles = {
        "gradient": mix((1.0, 0.55, 0.8), (0.3, 0.9, 0.95), yy),
        "swoosh": mix((0.85, 0.1, 0.6), (0.0, 0.55, 0.6), swoosh),
        "glow": mix((0.05, 0.05, 0.2), (0.9, 0.6, 0.1), xx * yy),
    }
    Path(folder).mkdir(parents=True, exist_ok=True)
    for name, img in styles.items():
        save_image(tensor_to_image(img), Path(folder) / f"probe__{name}.png")


def one_pass(model, op, content: torch.Tensor, style: torch.Tensor, pad: int = 32) -> torch.Tensor:
    flow = model.flow
    m = flow.config.multiple
    h, w = content.shape[-2:]
    bottom, right = (-h) % m, (-w) % m
    c = F.pad(content, (pad, pad + right, pad, pad + bottom), mode="reflect")
    sh, sw = style.shape[-2:]
    s = style[..., : sh - sh % m, : sw - sw % m]
    with torch.no_grad():
        out = flow.decode(op(flow.encode(c), flow.encode(s)))
    return out[..., pad : pad + h, pad : pad + w]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--content", nargs="+")
    p.add_argument("--styles", nargs="+")
    p.add_argument("--models", nargs="+")
    p.add_argument("--write-probe-styles", metavar="DIR", help="write the synthetic smooth styles to DIR and stop")
    p.add_argument("--ops", nargs="+", default=["adain", "wct"], choices=sorted(OPS))
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--max-images", type=int, default=6)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--per-style", action="store_true", help="also a row per style (medians over the contents)")
    args = p.parse_args()
    if args.write_probe_styles:
        write_probe_styles(args.write_probe_styles)
        return
    if not (args.content and args.styles and args.models):
        p.error("--content, --styles and --models are required")
    torch.set_num_threads(args.threads)
    contents = load_images(image_paths(args.content, args.max_images), args.size)
    styles = load_images(image_paths(args.styles, args.max_images), args.size)
    print(f"{len(contents)} contents x {len(styles)} styles at {args.size} px, one pass, pad 32 reflect")
    print("| model | op | style match (median / worst decile / pairs < 0) | SSIM | clipped % | decoded q0.1% | decoded q99.9% |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models:
        model = load_model(name)
        for op_name in args.ops:
            sm, ss, clip, lo, hi = [], [], [], [], []
            per_style: dict[str, list[tuple[float, float, float]]] = {}
            for c in contents:
                for s in styles:
                    raw = one_pass(model, OPS[op_name], c.tensor, s.tensor)
                    flat = raw.flatten()
                    lo.append(float(torch.quantile(flat, 0.001)))
                    hi.append(float(torch.quantile(flat, 0.999)))
                    out = raw.clamp(0, 1)
                    sm.append(M.style_match(out, c.tensor, s.tensor))
                    ss.append(M.ssim_luminance(out, c.tensor))
                    clip.append(100 * M.clipped_fraction(out))
                    per_style.setdefault(s.name, []).append((sm[-1], clip[-1], hi[-1]))
            med, worst = M.median_worst(sm)
            below = sum(v < 0 for v in sm)
            print(f"| {name} | {op_name} | {med:+.2f} / {worst:+.2f} / {below}/{len(sm)} | "
                  f"{statistics.median(ss):.2f} | {statistics.median(clip):.1f} | "
                  f"{statistics.median(lo):+.2f} | {statistics.median(hi):+.2f} |", flush=True)
            if args.per_style:
                for style, rows in per_style.items():
                    m = [statistics.median(col) for col in zip(*rows)]
                    print(f"|   style {style} | {op_name} | {m[0]:+.2f} (min {min(r[0] for r in rows):+.2f}) | | "
                          f"{m[1]:.1f} | | {m[2]:+.2f} |", flush=True)


if __name__ == "__main__":
    main()

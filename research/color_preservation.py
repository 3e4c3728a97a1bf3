"""Colour preservation: keep_luminance vs match_color, measured (docs/artist_features.md).

For each content x style pair (scikit-image photos and the package's bundled images) it
stylizes four ways: plain; `keep_luminance` (stylize, keep the output's CIELAB lightness with
the content's chroma); the same with grey inputs (Gatys et al.'s luminance-only transfer);
`match_color` (the style given the content's RGB mean and covariance before the transfer).
Reported: mean CIEDE2000 to the content (lower keeps the colours better) and the style match on
luminance features (flowstyle.eval.metrics.style_match on the CIELAB lightness of output,
content and style; higher carries more of the style's structure and texture).

    OMP_NUM_THREADS=1 python research/color_preservation.py --size 192 --phases 4 --out reports/color_preservation.md
"""

from __future__ import annotations

import argparse
import platform
import time
from importlib import resources

import numpy as np
import torch
from skimage import color, data

from flowstyle.eval.metrics import style_match
from flowstyle.image.color import grey, keep_luminance, match_color
from flowstyle.image.io import load_tensor
from flowstyle.image.transforms import resize_longest
from flowstyle.pipeline import Stylizer

CONTENTS = ("astronaut", "chelsea", "coffee", "rocket")
STYLES = ("send1", "immunohistochemistry", "hubble_deep_field")
WAYS = ("plain", "keep_luminance", "keep_luminance (grey inputs)", "match_color")


def _image(name: str, size: int) -> torch.Tensor:
    if name in ("astronaut", "send1"):
        path = resources.files("flowstyle") / "assets" / ("astronaut.jpg" if name == "astronaut" else "send1.png")
        x = load_tensor(str(path))
    else:
        x = torch.from_numpy(getattr(data, name)()).permute(2, 0, 1)[None].float() / 255
    return resize_longest(x, size)


def delta_e(a: torch.Tensor, b: torch.Tensor) -> float:
    la = color.rgb2lab(a[0].permute(1, 2, 0).double().numpy())
    lb = color.rgb2lab(b[0].permute(1, 2, 0).double().numpy())
    return float(np.mean(color.deltaE_ciede2000(la, lb)))


def run(stylizer: Stylizer, content: torch.Tensor, style: torch.Tensor, way: str, **options) -> torch.Tensor:
    if way == "plain":
        return stylizer.stylize_tensor(content, style, **options)
    if way == "keep_luminance":
        return keep_luminance(stylizer.stylize_tensor(content, style, **options), content)
    if way == "keep_luminance (grey inputs)":
        return keep_luminance(stylizer.stylize_tensor(grey(content), grey(style), **options), content)
    if way == "match_color":
        return stylizer.stylize_tensor(content, match_color(style, content), **options)
    raise ValueError(way)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="artflow-adain")
    parser.add_argument("--method", default=None)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--phases", type=int, default=None, help="squeeze phases (default: the model's)")
    parser.add_argument("--contents", nargs="+", default=list(CONTENTS), choices=CONTENTS)
    parser.add_argument("--styles", nargs="+", default=list(STYLES), choices=STYLES)
    parser.add_argument("--out", default=None, help="markdown table to write")
    args = parser.parse_args()
    stylizer = Stylizer(args.model)
    scores: dict[str, list[tuple[float, float]]] = {w: [] for w in WAYS}
    start = time.time()
    for c in args.contents:
        content = _image(c, args.size)
        for s in args.styles:
            style = _image(s, args.size)
            for way in WAYS:
                out = run(stylizer, content, style, way, method=args.method, recipe={k: v for k, v in dict(phases=args.phases).items() if v is not None})
                de = delta_e(out, content)
                sm = style_match(grey(out), grey(content), grey(style))
                scores[way].append((de, sm))
                print(f"{c:10s} {s:22s} {way:30s} dE {de:6.2f}  luminance style match {sm:+.3f}", flush=True)
    lines = [
        f"{len(args.contents) * len(args.styles)} pairs ({', '.join(args.contents)} x {', '.join(args.styles)}), "
        f"model {args.model}, method {args.method or stylizer.model.method}, {args.size} px, phases {args.phases or 'the model default'}; "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{time.time() - start:.0f} s.",
        "",
        "| way | mean CIEDE2000 to the content (lower: colours kept) | worst pair | luminance style match (mean) | worst pair |",
        "|---|---|---|---|---|",
    ]
    for way in WAYS:
        de = np.array([d for d, _ in scores[way]])
        sm = np.array([m for _, m in scores[way]])
        lines.append(f"| {way} | {de.mean():.2f} | {de.max():.2f} | {sm.mean():+.3f} | {sm.min():+.3f} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()

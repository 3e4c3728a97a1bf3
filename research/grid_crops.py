"""Before/after crops of the squeeze grid: one pass (pad 0, pad 64), the model's default path
(one pass and the lattice filter for the shipped models), all squeeze phases averaged.

    python research/grid_crops.py MODEL CONTENT STYLE --size 384 --out docs/img/grid_crops.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

from flowstyle import Stylizer
from flowstyle.image.io import load_tensor, save_image, tensor_to_image
from flowstyle.image.transforms import resize_longest

VARIANTS = [("1 pass, pad 0", dict(recipe=dict(phases=1, deep_phases=1, gain=1.0, grid_filter=0, grid_filter_diagonal=None), pad=0)),
            ("1 pass, pad 64", dict(recipe=dict(phases=1, deep_phases=1, gain=1.0, grid_filter=0, grid_filter_diagonal=None), pad=64)),
            ("default path", dict(pad=64)), ("all phases averaged", dict(quality="finest", pad=64))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("content")
    p.add_argument("style")
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--crop", type=int, default=96, help="side of the top-left corner crop, px")
    p.add_argument("--zoom", type=int, default=3)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    stylizer = Stylizer(args.model)
    content = resize_longest(load_tensor(args.content), args.size)
    tiles = [("content", tensor_to_image(content))]
    for label, options in VARIANTS:
        if label == "default path":
            used = stylizer.options_for(1).recipe
            label += f" ({used.phases} pass{'es' if used.phases > 1 else ''}" + (f", filter {used.grid_filter:g} px)" if used.grid_filter else ")")
        tiles.append((label, stylizer.stylize(content, args.style, **options)))
    side = args.crop * args.zoom
    sheet = Image.new("RGB", (side * len(tiles), side + 16), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, img) in enumerate(tiles):
        crop = img.crop((0, 0, args.crop, args.crop)).resize((side, side), Image.NEAREST)
        sheet.paste(crop, (i * side, 16))
        draw.text((i * side + 4, 2), label, fill="black")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_image(sheet, args.out)
    print(args.out)


if __name__ == "__main__":
    main()

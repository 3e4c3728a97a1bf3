"""A contents x styles result grid (PNG) for one model: first row styles, first column contents.

    python research/result_grid.py artflow-adain data/splits/test --size 160 --out docs/img/grid_adain.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from flowstyle import Stylizer
from flowstyle.image.io import is_image_file, load_tensor, save_image, tensor_to_image
from flowstyle.image.transforms import resize_longest


def _square(img: Image.Image, side: int) -> Image.Image:
    w, h = img.size
    s = min(w, h)
    return img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((side, side), Image.LANCZOS)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("split", type=Path, help="folder with content/ and style/")
    p.add_argument("--size", type=int, default=160)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    contents = sorted(x for x in (args.split / "content").iterdir() if is_image_file(x))
    styles = sorted(x for x in (args.split / "style").iterdir() if is_image_file(x))
    stylizer = Stylizer(args.model)
    s = args.size
    sheet = Image.new("RGB", (s * (len(styles) + 1), s * (len(contents) + 1)), "white")
    for j, style in enumerate(styles):
        sheet.paste(_square(Image.open(style).convert("RGB"), s), ((j + 1) * s, 0))
    for i, content in enumerate(contents):
        c = resize_longest(load_tensor(content), s)
        sheet.paste(_square(tensor_to_image(c), s), (0, (i + 1) * s))
        for j, style in enumerate(styles):
            sheet.paste(_square(stylizer.stylize(c, style), s), ((j + 1) * s, (i + 1) * s))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_image(sheet, args.out)
    print(args.out)


if __name__ == "__main__":
    main()

"""How much fine detail the outputs carry, against the photo's: blur made visible.

The texture match compares feature covariances; it does not say whether an output is soft. This
takes the mean Sobel gradient magnitude of each output's luminance over the photo's at the same
size (1: as much edge and mark as the photo; below 1: softer; the peer's painted strokes and
outlines put it well above 1), and the same for the style image, from the images that
`research.paint_knobs --save-images` writes (CONTENT__STYLE__VARIANT.jpg):

    python -m research.edge_energy runs/knobs --content data/choice-masters/content \
        --styles data/choice-masters/style
"""

from __future__ import annotations

import argparse
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.filters import sobel


def edge_energy(image: Image.Image, size: tuple[int, int] | None = None) -> float:
    """Mean Sobel magnitude of the luminance in [0, 1], after resizing to `size` (w, h)."""
    grey = image.convert("L")
    if size is not None and grey.size != size:
        grey = grey.resize(size, Image.BICUBIC)
    return float(sobel(np.asarray(grey, dtype=np.float64) / 255.0).mean())


@lru_cache(maxsize=None)
def _file_energy(path: Path, size: tuple[int, int]) -> float:
    """A photo's or style's edge energy at an output's size: each is met once per pair."""
    return edge_energy(Image.open(path), size)


def _by_stem(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")}


def ratios(outputs: Path, contents: Path, styles: Path) -> dict[str, dict[str, list[float]]]:
    """{variant: {"output": [...], "style": [...]}}: each pair's edge energy over its photo's."""
    photos, paintings = _by_stem(contents), _by_stem(styles)
    found: dict[str, dict[str, list[float]]] = {}
    for path in sorted(outputs.glob("*__*__*.jpg")):
        content, style, variant = path.stem.rsplit("__", 2)
        if content not in photos or style not in paintings:
            continue
        out = Image.open(path)
        base = _file_energy(photos[content], out.size)
        row = found.setdefault(variant, {"output": [], "style": []})
        row["output"].append(edge_energy(out) / base)
        row["style"].append(_file_energy(paintings[style], out.size) / base)
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outputs", type=Path, nargs="+", help="folders of CONTENT__STYLE__VARIANT.jpg images")
    ap.add_argument("--content", type=Path, required=True)
    ap.add_argument("--styles", type=Path, required=True)
    args = ap.parse_args()
    print("| outputs | variant | pairs | output / photo: median (p10, p90) | style / photo: median |")
    print("|---|---|---|---|---|")
    for folder in args.outputs:
        for variant, row in ratios(folder, args.content, args.styles).items():
            out, style = np.array(row["output"]), np.array(row["style"])
            print(f"| {folder.name} | {variant} | {len(out)} | {np.median(out):.2f} ({np.percentile(out, 10):.2f}, "
                  f"{np.percentile(out, 90):.2f}) | {np.median(style):.2f} |")


if __name__ == "__main__":
    main()

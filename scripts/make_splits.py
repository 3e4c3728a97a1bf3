"""Split the built corpus into train / val / test folders (symlinks) for our default models.

val: used to choose among variants (widths, crops, grid fixes). test: used only for the final
tables in MODELS.md / docs/grid.md and the README figures, never for a choice.

    python scripts/make_splits.py data/corpus data/splits
"""

from __future__ import annotations

import sys
from pathlib import Path

HELD_OUT = {
    "test": {
        "content": ["skimage__astronaut.png", "skimage__chelsea.png", "skimage__coffee.jpg", "skimage__rocket.jpg"],
        "style": [
            "gimp-data-extras__send1.png", "gimp-data-extras__canyons2.png",
            "mate__abstract-Elephants.jpg", "gimp-data__Sky-lightning.png",
        ],
    },
    "val": {
        "content": ["skimage__motorcycle_left.jpg", "mate__nature-Dune.jpg", "mate__nature-LadyBird.jpg"],
        "style": [
            "gimp-data-extras__weird2.png", "gimp-data-extras__bluemetal.png",
            "gimp-data-extras__fuzzy-colors.png", "gimp-data-extras__3dweave.png",
        ],
    },
}


def make_splits(corpus: Path, out: Path) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for kind in ("content", "style"):
        files = sorted(p for p in (corpus / kind).iterdir() if p.is_file())
        held = {name for split in HELD_OUT.values() for name in split[kind]}
        missing = held - {p.name for p in files}
        if missing:
            raise SystemExit(f"held-out files missing from {corpus / kind}: {sorted(missing)}")
        assignment = {"train": [p for p in files if p.name not in held]}
        for split, lists in HELD_OUT.items():
            assignment[split] = [corpus / kind / name for name in lists[kind]]
        for split, paths in assignment.items():
            folder = out / split / kind
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.iterdir():
                stale.unlink()
            for path in paths:
                (folder / path.name).symlink_to(path.resolve())
            counts.setdefault(split, {})[kind] = len(paths)
    return counts


if __name__ == "__main__":
    corpus, out = (Path(a) for a in (sys.argv[1:3] if len(sys.argv) >= 3 else ("data/corpus", "data/splits")))
    for split, c in make_splits(corpus, out).items():
        print(f"{split:5s} content {c['content']:3d}  style {c['style']:3d}")

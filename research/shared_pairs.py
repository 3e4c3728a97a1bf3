"""Medians of two evaluation reports on the pairs they share: e.g. a slow option evaluated on a
subset against the default path and the peer of a full run.

    python -m research.shared_pairs reports/ptest-adain reports/ptest-refine
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

KEYS = ("style_match", "texture_match", "ssim", "clipped")


def load(folder: str) -> dict:
    data = json.loads((Path(folder) / "results.json").read_text())
    names = lambda kind: [x["name"] for x in data[kind]]  # noqa: E731
    return {"contents": names("contents"), "styles": names("styles"), "metrics": data["sections"]["Metrics"]}


def main() -> None:
    runs = [load(f) for f in sys.argv[1:]]
    contents = [c for c in runs[0]["contents"] if all(c in r["contents"] for r in runs)]
    styles = [s for s in runs[0]["styles"] if all(s in r["styles"] for r in runs)]
    print(f"{len(contents)} x {len(styles)} shared pairs; median (worst decile), pairs below 0")
    print("| run | model | " + " | ".join(KEYS) + " |")
    print("|---" * (len(KEYS) + 2) + "|")
    for folder, run in zip(sys.argv[1:], runs):
        ci = [run["contents"].index(c) for c in contents]
        si = [run["styles"].index(s) for s in styles]
        for model, values in run["metrics"].items():
            if not all(key in values for key in KEYS):  # the do-nothing baseline
                continue
            cells = []
            for key in KEYS:
                grid = np.asarray(values[key], dtype=float).reshape(len(run["contents"]), len(run["styles"]))
                a = grid[np.ix_(ci, si)]
                worst = np.percentile(a, 90 if key == "clipped" else 10)
                cells.append(f"{np.median(a):.3f} ({worst:.3f}), {int((a < 0).sum())} < 0")
            print(f"| {folder} | {model} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

"""Loss curves of training runs (from each run's log.csv), smoothed, as one PNG.

    python research/plot_training.py runs/adain-2x8 runs/adaattn-2x8 --out docs/img/loss_curves.png
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def smooth(values: np.ndarray, window: int = 15) -> np.ndarray:
    """Running median: single batches vary 10x with the style drawn, the median shows the trend."""
    return np.array([np.median(values[max(0, i - window + 1) : i + 1]) for i in range(len(values))])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for run in args.runs:
        rows = list(csv.DictReader((run / "log.csv").open()))
        steps = np.array([int(r["step"]) for r in rows])
        for ax, key in zip(axes, ("style", "content")):
            ax.plot(steps, smooth(np.array([float(r[key]) for r in rows])), label=run.name)
    for ax, key in zip(axes, ("style loss", "content loss")):
        ax.set_xlabel("step (batch 4)")
        ax.set_title(f"{key} (running median of 15 logged batches)")
        ax.set_yscale("log")
        ax.legend()
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100)
    print(args.out)


if __name__ == "__main__":
    main()

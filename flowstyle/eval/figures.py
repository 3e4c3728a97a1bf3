"""The evaluation's figures: matplotlib (the `eval` extra) on the Agg backend, image grids."""

from __future__ import annotations

import re
from pathlib import Path

from torch import Tensor

from ..errors import FlowstyleError


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend, or an error with the install hint."""
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise FlowstyleError("the evaluation figures need matplotlib: pip install 'flowstyle[eval]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def image_axes(rows: int, cols: int, cell: float = 1.9):
    """A rows x cols grid of bare axes for images."""
    plt = pyplot()
    fig, axes = plt.subplots(rows, cols, figsize=(cols * cell, rows * cell + 0.3), squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    return fig, axes


TITLE_CHARS = 26  # about one 1.7-1.9 inch cell at 7 pt


def wrapped(title: str, width: int = TITLE_CHARS) -> str:
    """A title in lines that fit one cell: corpus names ("source__file-name") break at "__"
    first, then after hyphens and underscores, then anywhere; so neighbours' titles do not overlap."""
    lines: list[str] = []
    for part in title.split("__"):
        line = ""
        for piece in re.split(r"(?<=[-_ ])", part):
            while len(piece) > width:
                if line:
                    lines.append(line)
                    line = ""
                lines.append(piece[:width])
                piece = piece[width:]
            if len(line) + len(piece) > width:
                lines.append(line)
                line = ""
            line += piece
        lines.append(line)
    return "\n".join(line.rstrip() for line in lines)


def show(ax, tensor: Tensor, title: str = "", fontsize: int = 7) -> None:
    """Draw a (1, 3, H, W) tensor in [0, 1] on `ax`."""
    ax.imshow(tensor[0].permute(1, 2, 0).clamp(0, 1).numpy())
    if title:
        ax.set_title(wrapped(title), fontsize=fontsize)


def save(fig, out: Path, name: str) -> str:
    """Lay out, write `out/name` and close the figure; returns `name` for the report's link."""
    path = out / name
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return name


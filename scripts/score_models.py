"""Score models on a held-out split: style/content loss, style match, SSIM, grid ratio.

Used to choose among ablation variants on data/splits/val (never on the test split).

    python scripts/score_models.py runs/ablation/*/model.safetensors --split data/splits/val \
        --size 256 --phases 1 --json runs/ablation/scores.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from flowstyle import Stylizer, load_model
from flowstyle.eval import metrics
from flowstyle.image.io import load_tensor
from flowstyle.image.transforms import resize_longest


def seconds_at(stylizer: Stylizer, content, style, size: int, repeats: int = 2, **options) -> float:
    """Median seconds for one content at `size` px (style cached, as in batch work), after a warm-up."""
    content, style = resize_longest(content, size), resize_longest(style, size)
    stylizer.stylize_tensor(content, style, **options)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        stylizer.stylize_tensor(content, style, **options)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def score(model_path: str, split: Path, size: int, phases: int, pad: int, pad_mode: str = "reflect",
          gain: float = 1.0, time_size: int | None = None) -> dict:
    stylizer = Stylizer(load_model(model_path))
    contents = sorted((split / "content").iterdir())
    styles = sorted((split / "style").iterdir())
    rows = []
    for c in contents:
        content = resize_longest(load_tensor(c), size)
        for s in styles:
            style = resize_longest(load_tensor(s), size)
            t0 = time.perf_counter()
            out = stylizer.stylize_tensor(content, style, pad=pad, pad_mode=pad_mode, phases=phases, gain=gain)
            seconds = time.perf_counter() - t0
            rows.append({
                "style_loss": metrics.style_loss(out, style),
                "content_loss": metrics.content_loss(out, content),
                "style_match": metrics.style_match(out, content, style),
                "ssim": metrics.ssim_luminance(out, content),
                "grid": metrics.grid_ratio(out, content),
                "grid_border": metrics.grid_ratio(out, content, border=32),
                "seconds": seconds,
            })
    summary = {k: statistics.fmean(r[k] for r in rows) for k in rows[0]}
    if time_size:
        summary[f"seconds_{time_size}"] = seconds_at(stylizer, load_tensor(contents[0]), load_tensor(styles[0]), time_size,
                                                     pad=pad, pad_mode=pad_mode, phases=phases, gain=gain)
    info = stylizer.model.info
    summary.update(model=model_path, steps=info.get("steps"), train_seconds=info.get("train_seconds"), phases=phases, gain=gain, pad=f"{pad} {pad_mode}", pairs=len(rows))
    return summary


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--split", default="data/splits/val", type=Path)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--phases", default="1", help="comma list, e.g. 1,4,16")
    p.add_argument("--pads", default="64:reflect", help="comma list of PAD:MODE, e.g. 64:reflect,0:reflect,64:zeros")
    p.add_argument("--gains", default="1", help="comma list of latent gains (docs/grid.md), e.g. 1,1.3")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--time-size", type=int, help="also time one stylization at this size (px), style cached")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    results = []
    print("| model | phases | gain | pad | steps | style loss | content loss | style match | SSIM | grid | grid border | s/img | s at time-size |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for model in args.models:
        settings = [(int(x), p, float(g)) for x in args.phases.split(",") for p in args.pads.split(",")
                    for g in args.gains.split(",")]
        for phases, pad, gain in settings:
            pad_px, pad_mode = pad.split(":")
            r = score(model, args.split, args.size, phases, int(pad_px), pad_mode, gain, args.time_size)
            results.append(r)
            print(f"| {model} | {phases} | {gain:g} | {r['pad']} | {r['steps']} | {r['style_loss']:.3f} | {r['content_loss']:.3f} | "
                  f"{r['style_match']:.3f} | {r['ssim']:.3f} | {r['grid']:.2f} | {r['grid_border']:.2f} | {r['seconds']:.2f} | "
                  f"{r.get(f'seconds_{args.time_size}', float('nan')):.2f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

"""Seconds per training step and images/s for the default small config and the report's config.

    python -m benchmarks.bench_train [--steps 3] [--out reports/bench_train.md]

Runs on generated images in a temporary folder (data loading is not what is measured), after
one warm-up step. The report's full config (2x8, width 512, crop 256, batch 4) takes minutes per
step on a laptop CPU; `--skip-full` leaves it out.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.common import machine
from flowstyle.flow import FlowConfig
from flowstyle.training.config import TrainConfig
from flowstyle.training.trainer import Trainer

CONFIGS = {
    "default (2x8, width 128, crop 128, batch 4, bf16)": dict(flow=FlowConfig(width=128), crop=128, resize=160, bf16=True),
    "default in float32": dict(flow=FlowConfig(width=128), crop=128, resize=160, bf16=False),
    "report (2x8, width 512, crop 256, batch 4, float32)": dict(flow=FlowConfig(width=512), crop=256, resize=288, bf16=False),
}


def _images(folder: Path, n: int, size: int, seed: int) -> str:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray((rng.random((size, size, 3)) * 255).astype(np.uint8)).save(folder / f"{i}.png")
    return str(folder)


def bench(overrides: dict, steps: int, root: Path, device: str) -> tuple[float, float]:
    cfg = TrainConfig(
        content_dir=_images(root / "c", 4, 300, 0), style_dir=_images(root / "s", 4, 300, 1), out=str(root / "run"),
        batch=4, iters=steps + 1, save_every=10**6, sample_every=0, workers=1, device=device, **overrides,
    )
    trainer = Trainer(cfg, progress=False)
    trainer._initialize(torch.rand(4, 3, cfg.crop, cfg.crop), torch.rand(4, 3, cfg.crop, cfg.crop))
    times = []
    for i in range(steps + 1):
        c, s = trainer._prepare(torch.rand(4, 3, cfg.crop, cfg.crop)), trainer._prepare(torch.rand(4, 3, cfg.crop, cfg.crop))
        t0 = time.perf_counter()
        trainer.train_step(c, s)
        if i:  # first step is the warm-up
            times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    return sec, cfg.batch / sec


def main() -> None:
    p = argparse.ArgumentParser(description="training-step benchmark")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--skip-full", action="store_true")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    lines = [
        f"Machine: {machine()}, device {args.device}",
        "",
        "| config | s / step | images / s |",
        "|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for name, overrides in CONFIGS.items():
        if args.skip_full and "report" in name:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            sec, ips = bench(overrides, args.steps, Path(tmp), args.device)
        lines.append(f"| {name} | {sec:.2f} | {ips:.2f} |")
        print(lines[-1], flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""Exact AdaAttN against seeded key sub-sampling (`max_keys`): time and pixel error.

    python -m benchmarks.attention_keys --model artflow-adaattn --size 1024 --max-keys 4096 16384

Content (astronaut) and style (coffee) at SIZE px on the longest side, one pass (phases 1), the
style encoded once. Prints seconds for exact attention and for each key budget, and the error
of each approximation against exact in 8-bit levels (mean, 99th percentile, max over pixels).
Peak memory of the exact case: `python -m benchmarks.bench --model artflow-adaattn --methods
adaattn --sizes 1024 --repeats 1` (it measures each case in a fresh process).
"""

from __future__ import annotations

import argparse
import time

import torch

from flowstyle import Stylizer
from benchmarks.common import sample_pair


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="artflow-adaattn")
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--max-keys", type=int, nargs="+", default=[4096, 16384])
    p.add_argument("--threads", type=int)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    content, style = sample_pair(args.size)
    stylizer = Stylizer(args.model)
    stylizer.encode_style(style, args.size)  # cached: the timings below are the content's

    def run(max_keys: int | None) -> tuple[torch.Tensor, float]:
        start = time.perf_counter()
        out = stylizer.stylize_tensor(content, style, method="adaattn", recipe=dict(phases=1, max_keys=max_keys, seed=0))
        return out, time.perf_counter() - start

    exact, seconds = run(None)
    print(f"| {args.model} | {args.size} px | keys | s | mean err /255 | p99 /255 | max /255 |")
    print("|---|---|---|---|---|---|---|")
    print(f"| | | all (exact) | {seconds:.1f} | 0 | 0 | 0 |")
    for keys in args.max_keys:
        approx, seconds = run(keys)
        err = (approx - exact).abs().flatten() * 255
        p99 = torch.quantile(err[:: max(1, err.numel() // 1_000_000)], 0.99).item()
        print(f"| | | {keys} | {seconds:.1f} | {err.mean().item():.2f} | {p99:.1f} | {err.max().item():.1f} |", flush=True)


if __name__ == "__main__":
    main()

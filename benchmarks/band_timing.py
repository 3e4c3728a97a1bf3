"""Seconds per stylization for several flow band heights (`tile`), one model, one size.

    python -m benchmarks.band_timing --size 1024 --precision float32 --tiles auto,0,256,128,64

`auto` is the pipeline's rule (`tiling.auto_tile_rows`), `0` one whole pass, N bands of N image
rows; every setting gives the same image (exact banding). Content astronaut, style coffee
(scikit-image) at SIZE px, one pass (phases 1), style encoded every run; median of the runs
after the first. docs/performance.md, "Speed bands".
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from flowstyle import Stylizer
from benchmarks.common import sample_pair


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="artflow-adain")
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--precision", choices=("float32", "bf16"), default="float32")
    p.add_argument("--tiles", default="auto,0,256,128,64")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    content, style = sample_pair(args.size)
    stylizer = Stylizer(args.model, cache_size=0, precision=args.precision)
    for text in args.tiles.split(","):
        tile = None if text == "auto" else int(text)
        times = []
        for _ in range(max(2, args.runs)):
            start = time.perf_counter()
            stylizer.stylize_tensor(content, style, recipe=dict(phases=1), tile=tile)
            times.append(time.perf_counter() - start)
        print(f"{args.model} {args.size} px {args.precision} tile {text}: {statistics.median(times[1:]):.2f} s", flush=True)


if __name__ == "__main__":
    main()

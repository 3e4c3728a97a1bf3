"""One flow pass (encode + decode, AdaIN, float32, no grid filter): the unit the default path's
cost is measured in, whatever operator the model paints with by default.

    python -m benchmarks.flow_pass --model artflow-adain --sizes 512 1024 --threads 1
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmarks.default_path import sample_pair
from flowstyle.pipeline import Stylizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="artflow-adain")
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    stylizer = Stylizer(args.model, cache_size=0, precision="float32")
    plain = {"method": "adain", "quality": "fast", "recipe": {"grid_filter": 0.0, "grid_filter_diagonal": None}}
    stylizer.stylize_tensor(*sample_pair(256), **plain)  # warm-up
    for size in args.sizes:
        content, style = sample_pair(size)
        start = time.perf_counter()
        stylizer.stylize_tensor(content, style, **plain)
        print(f"{args.model} {size} px: one flow pass {time.perf_counter() - start:.2f} s", flush=True)


if __name__ == "__main__":
    main()

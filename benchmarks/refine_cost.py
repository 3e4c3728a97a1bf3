"""What refinement steps add to the default path, in units of one flow pass.

    python -m benchmarks.refine_cost --model artflow-adaattn --size 512 --steps 1 2 --threads 1

On the bench's sample pair (benchmarks/common.py), in this process: one float32 pass (the flow
once each way over every pixel, with AdaIN: the unit of `make bench`), the default path, and the
default path with each step count; medians of `--repeats` runs after a warm-up on a small image.
"""

from __future__ import annotations

import argparse
import statistics

from benchmarks.common import machine, sample_pair, set_threads
from benchmarks.default_path import ONE_PASS, WARMUP_SIZE, timed
from flowstyle.models import DEFAULT_MODEL, load_model
from flowstyle.pipeline import Stylizer


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--steps", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    set_threads(args.threads)
    model = load_model(args.model)
    default, single = Stylizer(model, cache_size=0), Stylizer(model, cache_size=0, precision="float32")
    content, style = sample_pair(args.size)
    warm_c, warm_s = sample_pair(WARMUP_SIZE)
    cases = {"one float32 pass": (single, ONE_PASS), "default path": (default, {})}
    cases.update({f"default + {n} refinement step{'s' if n != 1 else ''}": (default, {"refine": n}) for n in args.steps})
    print(f"{args.model}, {args.size} px, {machine()}")
    unit = None
    for name, (stylizer, keywords) in cases.items():
        stylizer.stylize_tensor(warm_c, warm_s, **keywords)
        times, _ = timed(lambda: stylizer.stylize_tensor(content, style, **keywords), args.repeats)
        seconds = statistics.median(times)
        unit = unit or seconds
        print(f"{name}: {seconds:.2f} s = {seconds / unit:.2f} passes", flush=True)


if __name__ == "__main__":
    main()

"""Where a stylization's time goes: torch.profiler over one run, grouped by operator.

    python -m benchmarks.profile_flow --size 1024 --out reports/profile.md
    python -m benchmarks.profile_flow --size 1024 --precision bf16 --threads 1

Runs one warm-up, then profiles one `stylize_tensor` call (content and style at SIZE px on the
longest side, pad 64, phases 1, the style encoded afresh). The table lists self CPU time per
operator; convolutions are split by kind (3x3 / 1x1) and by input channels so the coupling
networks' convolutions can be told from the flow's own 1x1 mixing.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from benchmarks.common import machine, sample_pair


def conv_label(shapes: list) -> str:
    """'conv 3x3 6->128' from the recorded input shapes of an aten convolution."""
    try:
        x, w = shapes[0], shapes[1]
        return f"conv {w[2]}x{w[3]} {x[1]}->{w[0]}"
    except (IndexError, TypeError):
        return "conv (shape unknown)"


def profile_run(model: str, size: int, precision: str, phases: int) -> tuple[list[tuple[str, float, int]], float]:
    from flowstyle import Stylizer

    content, style = sample_pair(size)
    stylizer = Stylizer(model, precision=precision, cache_size=0)
    run = lambda: stylizer.stylize_tensor(content, style, recipe=dict(phases=phases, gain=1.0))  # noqa: E731
    run()
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        run()
    wall = time.perf_counter() - start
    groups: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for event in prof.events():
        if event.self_cpu_time_total <= 0:
            continue
        name = event.name
        if name in ("aten::mkldnn_convolution", "aten::_convolution", "aten::convolution", "aten::conv2d") \
                and event.self_cpu_time_total > 0:
            name = conv_label(event.input_shapes) if name == "aten::mkldnn_convolution" else name
        groups[name][0] += event.self_cpu_time_total / 1e6
        groups[name][1] += 1
    rows = sorted(((k, v[0], v[1]) for k, v in groups.items()), key=lambda r: -r[1])
    return rows, wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="artflow-adain")
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--precision", choices=("float32", "bf16"), default="float32")
    p.add_argument("--phases", type=int, default=1)
    p.add_argument("--threads", type=int)
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows, wall = profile_run(args.model, args.size, args.precision, args.phases)
    total = sum(r[1] for r in rows)
    lines = [
        f"### {args.model}, {args.size} px, {args.precision}, phases {args.phases}, "
        f"{torch.get_num_threads()} threads",
        "",
        f"Machine: {machine()}",
        "",
        f"Wall time under the profiler {wall:.2f} s; self CPU time summed over operators {total:.2f} s.",
        "",
        "| operator | self CPU s | share | calls |",
        "|---|---|---|---|",
    ]
    lines += [f"| {name} | {sec:.3f} | {100 * sec / total:.1f}% | {n} |" for name, sec, n in rows[: args.top]]
    rest = sum(r[1] for r in rows[args.top:])
    lines.append(f"| (all others) | {rest:.3f} | {100 * rest / total:.1f}% | |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with args.out.open("a") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()

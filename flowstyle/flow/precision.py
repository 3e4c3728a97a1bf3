"""Which precision the flow should run in on this machine.

bfloat16 halves the flow's memory traffic and is 2-3x faster where the hardware has bf16
units (Intel AMX / AVX512-BF16, Arm BF16, CUDA GPUs from Ampere on). Where it has not (e.g. an
AMD EPYC with AVX2 only) PyTorch emulates it, and one bf16 pass took 12x as long as float32.
So bf16 is the default only where the units are there; the answer is read from the CPU's
flags, never guessed from its name.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from pathlib import Path

import torch

PRECISIONS = ("auto", "float32", "bf16")

# /proc/cpuinfo flags of CPUs with bf16 arithmetic units (x86: AMX and AVX512-BF16; Arm: BF16)
BF16_CPU_FLAGS = frozenset({"amx_bf16", "avx512_bf16", "bf16"})


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The CPU feature flags Linux reports (empty elsewhere or when unreadable)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return frozenset()
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):  # x86 says flags, Arm says Features
            flags.update(value.split())
    return frozenset(flags)


@functools.lru_cache(maxsize=None)
def bf16_is_fast(device: str = "cpu") -> bool:
    """True where bf16 runs on real hardware units for `device` ("cpu", "cuda", "cuda:1", ...)."""
    kind = torch.device(device).type
    if kind == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if kind == "cpu":
        return bool(BF16_CPU_FLAGS & cpu_flags()) and not isa_capped()
    return False


# torch's CPU kernels capped below AVX-512 (ATEN_CPU_CAPABILITY), or oneDNN's (ONEDNN_MAX_CPU_ISA):
# the bf16 units stay unused, so bf16 would be emulated; also how an AVX2-only CPU is imitated
_CAPPED_ATEN = ("default", "avx2", "sse41", "sse42")
_CAPPED_ONEDNN = ("sse41", "avx", "avx2", "avx2_vnni")


def isa_capped() -> bool:
    """True when the environment caps torch's or oneDNN's instruction set below AVX-512."""
    aten = os.environ.get("ATEN_CPU_CAPABILITY", "").lower()
    onednn = os.environ.get("ONEDNN_MAX_CPU_ISA", os.environ.get("DNNL_MAX_CPU_ISA", "")).lower()
    return aten in _CAPPED_ATEN or onednn in _CAPPED_ONEDNN


def resolve_precision(precision: str, device: str | torch.device = "cpu") -> str:
    """'auto' -> 'bf16' where it is fast, else 'float32'. An explicit 'bf16' where it would be
    emulated is honoured with a one-line warning (it will be slower, not faster)."""
    device = str(device)
    if precision == "auto":
        return "bf16" if bf16_is_fast(device) else "float32"
    if precision == "bf16" and not bf16_is_fast(device):
        warnings.warn(
            f"this {torch.device(device).type.upper()} has no bf16 units: bf16 is emulated and will be "
            "slower than float32",
            RuntimeWarning,
            stacklevel=3,
        )
    return precision


def describe_cpu() -> str:
    """One line naming the CPU and whether it has bf16 units (for benchmark reports)."""
    name = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        name = sys.platform
    units = sorted(BF16_CPU_FLAGS & cpu_flags())
    described = f"{name} ({'bf16 units: ' + ', '.join(units) if units else 'no bf16 units'})"
    if isa_capped():
        caps = [f"{k}={os.environ[k]}" for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA") if os.environ.get(k)]
        described += f", instruction set capped by {' '.join(caps)} (bf16 units unused)"
    return described

"""Default precision: bf16 only where the hardware has bf16 units."""

import warnings

import pytest

from flowstyle.flow import precision as P

EPYC = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 fma\n"
XEON = "processor\t: 0\nmodel name\t: Intel Xeon\nflags\t\t: avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"


def test_cpu_flags_parse_x86_and_arm():
    assert "avx2" in P.cpu_flags(EPYC) and not P.BF16_CPU_FLAGS & P.cpu_flags(EPYC)
    assert {"amx_bf16", "avx512_bf16"} <= P.cpu_flags(XEON)
    assert "bf16" in P.cpu_flags(ARM)
    assert P.cpu_flags("") == frozenset()


@pytest.mark.parametrize("cpuinfo, expected", [(EPYC, "float32"), (XEON, "bf16"), (ARM, "bf16")])
def test_auto_picks_bf16_only_with_bf16_units(monkeypatch, cpuinfo, expected):
    flags = P.cpu_flags(cpuinfo)
    monkeypatch.setattr(P, "cpu_flags", lambda: flags)
    P.bf16_is_fast.cache_clear()
    try:
        assert P.resolve_precision("auto", "cpu") == expected
        assert P.resolve_precision("float32", "cpu") == "float32"
    finally:
        P.bf16_is_fast.cache_clear()


def test_explicit_bf16_without_units_warns_once_and_is_honoured(monkeypatch):
    monkeypatch.setattr(P, "cpu_flags", lambda: frozenset({"avx2"}))
    P.bf16_is_fast.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="slower than float32"):
            assert P.resolve_precision("bf16", "cpu") == "bf16"
        monkeypatch.setattr(P, "cpu_flags", lambda: frozenset({"amx_bf16"}))
        P.bf16_is_fast.cache_clear()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert P.resolve_precision("bf16", "cpu") == "bf16"
    finally:
        P.bf16_is_fast.cache_clear()


def test_an_instruction_set_capped_below_avx512_leaves_the_bf16_units_unused(monkeypatch):
    """ATEN_CPU_CAPABILITY / ONEDNN_MAX_CPU_ISA below AVX-512 (how an AVX2-only CPU is imitated):
    auto resolves to float32 even where the CPU has bf16 units, and the description says so."""
    from flowstyle.flow import precision as P

    monkeypatch.setattr(P, "cpu_flags", lambda cpuinfo=None: frozenset({"avx512_bf16"}))
    for env in ({"ATEN_CPU_CAPABILITY": "avx2"}, {"ONEDNN_MAX_CPU_ISA": "AVX2"}, {}):
        for key in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        P.bf16_is_fast.cache_clear()
        assert P.resolve_precision("auto") == ("float32" if env else "bf16")
        assert ("capped" in P.describe_cpu()) == bool(env)
    P.bf16_is_fast.cache_clear()

"""The default-path benchmark's pure parts (benchmarks/default_path.py): the FLOP count of a flow
pass, the shapes it is counted on, the pixel error, the report. No wall-clock assertions."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks import default_path as bench
from flowstyle.flow import FlowConfig
from flowstyle.image.transforms import center_crop_to_multiple, pad_to_multiple
from flowstyle.models import init_model, save_model
from flowstyle.pipeline.options import PAD


def _coupling_flops(fn) -> int:
    """FLOPs torch counts in the coupling nets' convolutions during fn() (plain conv path: grad on).

    encode reaches them as submodules (FlowBlock.steps.N.coupling.net), decode calls the nets
    directly (CouplingNet); either way each FLOP is counted under exactly one of these names.
    """
    with FlopCounterMode(display=False) as counter:
        fn()
    return sum(
        count
        for module, ops in counter.get_flop_counts().items()
        if module.endswith(".coupling.net") or module == "CouplingNet"
        for op, count in ops.items()
        if "convolution" in str(op)
    )


def test_pass_flops_matches_counted_convolutions():
    config = FlowConfig(n_block=2, n_flow=2, width=16)
    flow = init_model(config, method="adain", size=32).flow
    content_hw, style_hw = (40, 48), (24, 32)
    with torch.enable_grad():
        x = torch.rand(1, 3, *content_hw)
        s = torch.rand(1, 3, *style_hw)
        z = flow.encode(x).detach()
        counted = (_coupling_flops(lambda: flow.encode(x)) + _coupling_flops(lambda: flow.decode(z))
                   + _coupling_flops(lambda: flow.encode(s)))
    assert counted > 0
    assert bench.pass_flops(config, content_hw, style_hw, "adain") == counted


def test_pass_flops_by_hand_and_attention_term():
    config = FlowConfig(n_block=1, n_flow=1, width=4)  # 12 channels at the only level, half 6
    # one coupling: 3x3 (6 -> 4) + 1x1 (4 -> 4) + 3x3 (4 -> 6) per position, 2x2 positions of 4x4
    per_image = (9 * 6 * 4 + 4 * 4 + 9 * 4 * 6) * 4
    assert bench.pass_flops(config, (4, 4), (4, 4), "adain") == 2 * 3 * per_image
    queries, keys = (8 // 2) * (6 // 2), (4 // 2) * (4 // 2)
    attention = queries * keys * 3 * config.latent_channels
    assert bench.pass_flops(config, (8, 6), (4, 4), "adaattn") - bench.pass_flops(config, (8, 6), (4, 4), "adain") \
        == 2 * attention


def test_shapes_are_the_pipelines():
    x = torch.zeros(1, 3, 101, 63)
    assert bench.padded_shape(101, 63, 64, 4) == tuple(pad_to_multiple(x, 64, 4, "zeros").shape[-2:])
    assert bench.padded_shape(101, 63, 0, 2) == (102, 64)
    assert bench.style_shape(101, 63, 4) == tuple(center_crop_to_multiple(x, 4).shape[-2:])


def test_pixel_error_in_8bit_levels():
    a = torch.zeros(1, 3, 10, 10)
    b = a.clone()
    b[..., :5, :] = 2 / 255  # half the pixels two levels off
    mean, p99 = bench.pixel_error(a, b)
    assert abs(mean - 1.0) < 1e-4
    assert abs(p99 - 2.0) < 1e-4


def _run(**changes) -> bench.Run:
    t = lambda seconds, mp, peak=300.0: bench.Timing([seconds, seconds], peak, mp)  # noqa: E731
    model = bench.ModelResult(
        "artflow-adain", phases=2, gain=1.1, grid_filter=2.0, method="adain", precision="float32", requested="auto", all_phases=16,
        work_size=512, sizes=[
            bench.SizeResult(512, t(2.0, 0.25), t(1.0, 0.25), flops=int(100e9), all_phases=t(16.0, 0.25, 500.0)),
            bench.SizeResult(1024, t(8.0, 1.0), t(4.0, 1.0), flops=int(400e9)),
        ],
    )
    values = dict(
        host="Test CPU (no bf16 units), 2 CPUs, torch x (2 threads), Python y, load average 0.1 at the start",
        cpu="Test CPU (no bf16 units)", threads=2, f32_flops=200e9, bf16_flops=None, repeats=2, repeats_large=1,
        models=[model], peer={512: bench.Timing([0.05], 40.0, 0.25), 1024: bench.Timing([0.1], 50.0, 1.0)},
        peer_note=None, bf16={"artflow-adain": bench.NO_BF16, "other": (0.51, 2.25)}, bf16_size=512,
        started=datetime(2026, 11, 26, 3, 30, tzinfo=timezone.utc), minutes=7.25,
    )
    values.update(changes)
    return bench.Run(**values)


def _row(text: str, start: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(start))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_report_table():
    text = bench.format_report(_run())
    assert "CPU: Test CPU (no bf16 units)" in text
    assert "float32 200 GFLOP/s" in text
    assert ("phases 2, gain 1.1, grid filter 2 px, method adain, work size 512 px, precision float32 (the model's "
            "default \"auto\" on this CPU)") in text
    # size, MP, default s, s/MP, 1 pass s, default / 1 pass, floor s, default / floor, 1 pass / floor,
    # peak MiB, peer s/MP, default / peer
    assert _row(text, "| 1024 |") == ["1024", "1", "8.00", "**8.00**", "4.00", "2.0x", "2.00", "4.0x", "2.0x",
                                      "300", "0.100", "80x"]
    assert _row(text, "| 512 |")[3] == "**8.00**"
    reference = _row(text, "| 512, all 16 phases")
    assert reference[2:6] == ["16.00", "64.00", "1.00", "16x"] and reference[9] == "500"
    assert _row(text, "| artflow-adain |")[1] == "skipped: no bf16 units"
    assert _row(text, "| other |")[1:3] == ["0.51", "2.2"]
    assert "7.2 min" in text and "2026-11-26 03:30 UTC" in text
    assert not re.search(r"\bnan\b|None", text)


def test_report_without_peer_and_with_failures():
    run = _run(peer={}, peer_note="not installed (pip install 'flowstyle[peer]')")
    run.models[0].errors.append("2048 px: MemoryError")
    text = bench.format_report(run)
    assert _row(text, "| 1024 |")[10:] == ["–", "–"]
    assert "not installed" in text and "Failed: 2048 px: MemoryError" in text


def test_worker_on_a_tiny_model(tmp_path):
    """The child's measurement end to end on a tiny model and a 32 px image (shapes, not speed)."""
    path = tmp_path / "tiny.safetensors"
    save_model(init_model(FlowConfig(n_block=2, n_flow=1, width=8), method="adain", size=32), path)
    out = bench.worker_model(str(path), 32, 1, True, threads=1)
    assert out["phases"] == 1 and out["precision"] == "float32" and out["all_phases_count"] == 16
    assert len(out["default"]["times"]) == 1 and out["single"] is out["default"]  # one pass in float32: same call
    assert len(out["all_phases"]["times"]) == 1
    content, style = bench.sample_pair(32)
    h, w = content.shape[-2:]
    sh, sw = style.shape[-2:]
    assert out["mp"] == h * w / 1e6
    assert out["flops"] == bench.pass_flops(init_model(FlowConfig(n_block=2, n_flow=1, width=8)).config,
                                            bench.padded_shape(h, w, PAD, 4), bench.style_shape(sh, sw, 4), "adain")


def test_bf16_error_compares_with_float32_even_for_a_bf16_model(tmp_path):
    """A model whose own default is bf16 must not be compared with itself."""
    from flowstyle.models.weights import set_defaults

    from ..conftest import perturb

    model = init_model(FlowConfig(n_block=2, n_flow=1, width=8), method="adain", size=32)
    perturb(model, 0.05)  # untrained couplings output zeros, which bf16 would not change
    save_model(model, tmp_path / "trained.safetensors")
    set_defaults(tmp_path / "trained.safetensors", tmp_path / "bf16.safetensors", precision="bf16")
    mean, p99 = bench.worker_bf16(str(tmp_path / "bf16.safetensors"), 32, threads=1)
    assert 0 < mean <= p99


def test_refine_cost_reports_each_case_in_passes(tiny_model_file, capsys):
    """benchmarks.refine_cost end to end on a tiny model at 32 px (the lines, not the speed)."""
    from benchmarks import refine_cost

    refine_cost.main(["--model", tiny_model_file, "--size", "32", "--steps", "1", "2", "--repeats", "1", "--threads", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[1:]] == [
        "one float32 pass", "default path", "default + 1 refinement step", "default + 2 refinement steps"]
    assert lines[1].endswith("= 1.00 passes")

"""Video: streamed frames, audio copied through, no partial output, flicker measured and reduced."""

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import torch

from flowstyle.cli import main
from flowstyle.errors import FlowstyleError
from flowstyle.pipeline import Stylizer
from flowstyle.pipeline.video import (
    TemporalBlend, estimate_shift, flicker_ratio, probe, read_frames, stylize_video, translate,
)


def _pan(photo, frames=8, w=64, h=48):
    x = torch.from_numpy(np.array(photo.resize((96, 64)))).permute(2, 0, 1)[None].float() / 255
    return [x[..., 8 : 8 + h, 2 * t : 2 * t + w] for t in range(frames)]


def _write(frames, path, fps=8, audio=False):
    h, w = frames[0].shape[-2:]
    video = path.with_suffix(".noaudio.mp4") if audio else path
    writer = imageio_ffmpeg.write_frames(str(video), (w, h), fps=fps, macro_block_size=2, ffmpeg_log_level="error")
    writer.send(None)
    for f in frames:
        writer.send((f[0] * 255).round().byte().permute(1, 2, 0).contiguous().numpy().tobytes())
    writer.close()
    if audio:
        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
        subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-i", str(video), "-f", "lavfi", "-i",
                        f"sine=frequency=440:duration={len(frames) / fps}", "-c:v", "copy", "-c:a", "aac",
                        "-shortest", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def clip(photos, tmp_path_factory):
    return _write(_pan(photos["astronaut"]), tmp_path_factory.mktemp("video") / "pan.mp4", audio=True)


@pytest.fixture(scope="module")
def stylizer(tiny_model):
    return Stylizer(tiny_model)


def test_stylize_video_streams_frames_and_copies_audio(stylizer, clip, photos, tmp_path):
    out = tmp_path / "out.mp4"
    encoded = []
    original = stylizer.encode_style
    stylizer.encode_style = lambda *a, **k: encoded.append(1) or original(*a, **k)
    try:
        result = stylize_video(stylizer, clip, photos["coffee"], out, pad=8, recipe=dict(phases=1), progress=False)
    finally:
        stylizer.encode_style = original
    assert result.frames == 8 and result.audio and out.exists()
    info = probe(out)
    assert (info.width, info.height) == (64, 48) and info.has_audio and info.fps == pytest.approx(8)
    assert len(list(read_frames(out))) == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]  # no temporary files left
    assert np.isfinite(result.flicker)


def test_every_n_keeps_duration_and_no_audio_input_works(stylizer, photos, tmp_path):
    silent = _write(_pan(photos["astronaut"]), tmp_path / "silent.mp4")
    out = tmp_path / "every.mkv"
    result = stylize_video(stylizer, silent, photos["coffee"], out, every=2, pad=8, recipe=dict(phases=1), progress=False)
    assert result.frames == 4 and result.fps == pytest.approx(4) and not result.audio
    assert len(list(read_frames(out))) == 4


def test_no_partial_output_on_error_or_interrupt(stylizer, clip, photos, tmp_path):
    out = tmp_path / "broken.mp4"
    calls = []
    original = stylizer.stylize_tensor

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    stylizer.stylize_tensor = failing
    try:
        with pytest.raises(KeyboardInterrupt):
            stylize_video(stylizer, clip, photos["coffee"], out, pad=8, recipe=dict(phases=1), progress=False)
    finally:
        stylizer.stylize_tensor = original
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FlowstyleError, match="no such video"):
        stylize_video(stylizer, tmp_path / "missing.mp4", photos["coffee"], out, progress=False)
    with pytest.raises(FlowstyleError, match="video suffix"):
        stylize_video(stylizer, clip, photos["coffee"], tmp_path / "out.png", progress=False)
    with pytest.raises(FlowstyleError, match="alpha"):
        stylize_video(stylizer, clip, photos["coffee"], out, alpha=2.0, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_estimate_shift_and_translate(photos):
    frames = _pan(photos["astronaut"], frames=2)
    dy, dx = estimate_shift(frames[0], frames[1])
    assert abs(dy) < 0.3 and abs(dx + 2) < 0.3  # the view moves right: the picture moves 2 px left
    moved = translate(frames[0], 0, -2)
    assert (moved[..., :-3] - frames[1][..., :-3]).abs().max() < 1e-5


def test_temporal_blend_reduces_flicker_and_keeps_still_frames(photos):
    contents = _pan(photos["astronaut"])
    g = torch.Generator().manual_seed(0)
    noisy = [c + 0.1 * torch.rand(c.shape, generator=g) for c in contents]  # per-frame flicker
    blend = TemporalBlend(0.6)
    smoothed = [blend(c, s) for c, s in zip(contents, noisy)]
    # the excess over the input's own change (the flicker) shrinks; the pan itself stays
    assert flicker_ratio(contents, smoothed) - 1 < 0.6 * (flicker_ratio(contents, noisy) - 1)
    # a cut (an unrelated frame) is not blended: the new frame comes through as it is
    other = torch.rand(contents[0].shape, generator=g)
    assert torch.equal(TemporalBlend(0.6)(other, other), other)
    blend_cut = TemporalBlend(0.6)
    blend_cut(contents[0], noisy[0])
    assert (blend_cut(other, other) - other).abs().mean() < 0.01
    with pytest.raises(FlowstyleError):
        TemporalBlend(1.0)


def test_cli_video(tiny_model_file, photo_files, clip, tmp_path, capsys):
    out = tmp_path / "cli.mp4"
    args = ["video", clip, photo_files["coffee"], "-o", out, "--model", tiny_model_file, "--pad", 8,
            "--recipe", "phases=1", "--every", 2, "--preserve-color"]
    assert main([str(a) for a in args]) == 0 and out.exists()
    assert "4 frames" in capsys.readouterr().out
    assert main([str(a) for a in ["video", tmp_path / "nope.mp4", photo_files["coffee"], "-o", tmp_path / "x.mp4",
                                   "--model", tiny_model_file]]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no such video" in err

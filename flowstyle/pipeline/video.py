"""Stylize a video: frames streamed through ffmpeg (imageio-ffmpeg's bundled binary).

Per frame the content is stylized with the Stylizer's cached style latents (the style is encoded
once, so its statistics are fixed over the clip); frames are read, stylized and written one at a
time, so memory does not grow with the clip's length. The audio track is copied through by a
final ffmpeg mux step. The output appears only when complete: everything is written to temporary
files in the target folder and renamed at the end; on any error or Ctrl-C they are removed.

Flicker, the known failure of per-frame transfer, is measured by `flicker_ratio` (mean absolute
difference between consecutive stylized frames over that between the input frames) and reduced by
`TemporalBlend`: each stylized frame is blended with the previous output, moved by the frame's
global motion (phase correlation), and only where that motion explains the input (elsewhere the
new frame is used as it is, so moving objects and zooms do not leave ghosts).
"""

from __future__ import annotations

import math
import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from ..errors import FlowstyleError
from ..image.color import luminance
from ..image.io import ImageLike, atomic_output, temporary_file

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".webm", ".avi", ".gif")


def _ffmpeg() -> str:
    try:
        import imageio_ffmpeg
    except ImportError:  # pragma: no cover - a dependency of the package
        raise FlowstyleError("video needs the imageio-ffmpeg package: pip install imageio-ffmpeg") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


# --------------------------------------------------------------------------- temporal consistency


def estimate_shift(previous: Tensor, current: Tensor) -> tuple[float, float]:
    """The global translation (dy, dx) in px that moves `previous` onto `current` (phase
    correlation of the luminances, sub-pixel by a parabola through the peak)."""
    a, b = luminance(previous)[0].double(), luminance(current)[0].double()
    h, w = a.shape
    window = torch.outer(torch.hann_window(h, periodic=False, dtype=a.dtype), torch.hann_window(w, periodic=False, dtype=a.dtype))
    fa, fb = torch.fft.fft2((a - a.mean()) * window), torch.fft.fft2((b - b.mean()) * window)
    cross = fb * fa.conj()
    corr = torch.fft.ifft2(cross / cross.abs().clamp_min(1e-12)).real
    peak = int(torch.argmax(corr))
    py, px = divmod(peak, w)

    def refine(c_minus: float, c0: float, c_plus: float) -> float:
        denom = c_minus - 2 * c0 + c_plus
        return 0.0 if abs(denom) < 1e-12 else 0.5 * (c_minus - c_plus) / denom

    dy = py + refine(float(corr[(py - 1) % h, px]), float(corr[py, px]), float(corr[(py + 1) % h, px]))
    dx = px + refine(float(corr[py, (px - 1) % w]), float(corr[py, px]), float(corr[py, (px + 1) % w]))
    dy = dy - h if dy > h / 2 else dy
    dx = dx - w if dx > w / 2 else dx
    return dy, dx


def translate(x: Tensor, dy: float, dx: float) -> Tensor:
    """x moved by (dy, dx) px (bilinear, borders repeated)."""
    h, w = x.shape[-2:]
    theta = torch.tensor([[[1.0, 0.0, -2.0 * dx / w], [0.0, 1.0, -2.0 * dy / h]]], dtype=x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class TemporalBlend:
    """Blend each stylized frame with the previous output, warped by the global motion.

    out_t = (1 - b) * stylized_t + b * warp(out_{t-1}), b = strength * confidence, where the
    confidence falls to 0 where the warped previous *input* does not match the current input
    (|difference| well above `tolerance`): there the motion model is wrong (a moving object, a
    zoom, a cut) and the fresh frame is kept. strength 0 turns it off.
    """

    def __init__(self, strength: float = 0.6, tolerance: float = 0.04) -> None:
        if not 0.0 <= strength < 1.0:
            raise FlowstyleError(f"temporal blend must be in [0, 1), got {strength}")
        self.strength = strength
        self.tolerance = tolerance
        self._content: Tensor | None = None
        self._output: Tensor | None = None

    def __call__(self, content: Tensor, stylized: Tensor) -> Tensor:
        out = stylized
        if self.strength > 0 and self._content is not None and self._content.shape == content.shape:
            dy, dx = estimate_shift(self._content, content)
            warped_content = translate(self._content, dy, dx)
            warped_output = translate(self._output, dy, dx)
            error = (warped_content - content).abs().mean(1, keepdim=True)
            confidence = torch.exp(-((error / self.tolerance) ** 2))
            b = self.strength * confidence
            out = (1 - b) * stylized + b * warped_output
        self._content, self._output = content, out
        return out


class FlickerMeter:
    """Accumulates the flicker ratio: mean |s_t - s_{t-1}| over mean |c_t - c_{t-1}|."""

    def __init__(self) -> None:
        self._prev: tuple[Tensor, Tensor] | None = None
        self.stylized_change = 0.0
        self.content_change = 0.0

    def add(self, content: Tensor, stylized: Tensor) -> None:
        if self._prev is not None:
            self.content_change += float((content - self._prev[0]).abs().mean())
            self.stylized_change += float((stylized - self._prev[1]).abs().mean())
        self._prev = (content, stylized)

    @property
    def ratio(self) -> float:
        return self.stylized_change / self.content_change if self.content_change > 0 else math.nan


def flicker_ratio(contents: Sequence[Tensor], stylized: Sequence[Tensor]) -> float:
    meter = FlickerMeter()
    for c, s in zip(contents, stylized):
        meter.add(c, s)
    return meter.ratio


# --------------------------------------------------------------------------- reading and writing


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frames: int | None  # None when the container does not say
    has_audio: bool


def probe(path: str | os.PathLike) -> VideoInfo:
    """Size, frame rate, frame count (estimated from the duration) and audio of a video file."""
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file():
        raise FlowstyleError(f"no such video file: {path}")
    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(reader)
    except (RuntimeError, OSError, StopIteration) as exc:
        raise FlowstyleError(f"cannot read a video from {path}: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    finally:
        reader.close()
    width, height = meta["size"]
    fps = float(meta.get("fps") or 25.0)
    duration = meta.get("duration")
    frames = int(round(duration * fps)) if duration and math.isfinite(duration) else None
    return VideoInfo(width, height, fps, frames, _has_audio(path))


def _has_audio(path: Path) -> bool:
    result = subprocess.run([_ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return any("Audio:" in line and "Stream #" in line for line in result.stderr.splitlines())


def read_frames(path: str | os.PathLike, every: int = 1) -> Iterator[Tensor]:
    """Frames 0, every, 2*every, ... as (1, 3, H, W) float tensors in [0, 1], one at a time."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(reader)
        width, height = meta["size"]
        for index, raw in enumerate(reader):
            if index % every:
                continue
            frame = np.frombuffer(raw, np.uint8).reshape(height, width, 3)
            yield torch.from_numpy(frame.copy()).permute(2, 0, 1)[None].float() / 255
    finally:
        reader.close()


def _to_bytes(x: Tensor) -> bytes:
    return (x[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).contiguous().numpy().tobytes()


def _mux_audio(video: Path, audio_source: Path, output: str) -> None:
    """Video stream of `video` plus the audio of `audio_source` into `output` (audio copied; re-encoded
    to AAC only when the container does not take the original codec)."""
    base = [_ffmpeg(), "-y", "-loglevel", "error", "-i", str(video), "-i", str(audio_source),
            "-map", "0:v:0", "-map", "1:a?", "-c:v", "copy", "-shortest"]
    for audio in (["-c:a", "copy"], ["-c:a", "aac"]):
        result = subprocess.run(base + audio + [output], capture_output=True, text=True)
        if result.returncode == 0:
            return
    raise FlowstyleError(f"could not copy the audio track: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else 'ffmpeg failed'}")


@dataclass(frozen=True)
class VideoResult:
    path: Path
    frames: int
    fps: float
    flicker: float  # flicker ratio of the written frames
    audio: bool


def stylize_video(
    stylizer,
    source: str | os.PathLike,
    styles: ImageLike | Sequence[ImageLike],
    output: str | os.PathLike,
    every: int = 1,
    temporal_blend: float = 0.6,
    quality: int = 7,
    progress: bool = True,
    **options,
) -> VideoResult:
    """Stylize every `every`-th frame of `source` and write the clip to `output`.

    stylizer: a `flowstyle.Stylizer`; options: its stylize options (method, alpha, size, ...).
    The output frame rate is the input's divided by `every`, so the duration and the copied
    audio track stay in step. temporal_blend: strength of the flicker reduction (0: off).
    quality: ffmpeg's 0-10 scale. Returns the path, frame count, fps, flicker ratio and
    whether audio was copied.
    """
    from tqdm import tqdm

    source, output = Path(source), Path(output)
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise FlowstyleError(f"every must be a positive whole number, got {every!r}")
    if output.suffix.lower() not in VIDEO_SUFFIXES:
        raise FlowstyleError(f"output must end in a video suffix ({', '.join(VIDEO_SUFFIXES)}): {output}")
    if not output.parent.is_dir():
        raise FlowstyleError(f"output folder does not exist: {output.parent}")
    if output.resolve() == source.resolve():
        raise FlowstyleError("the output would overwrite the input video")
    info = probe(source)
    blend = TemporalBlend(temporal_blend)
    styles = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    fps = info.fps / every
    total = None if info.frames is None else math.ceil(info.frames / every)
    meter = FlickerMeter()
    count = 0
    import imageio_ffmpeg

    video_only_path = output.with_name(f"{output.name}.video-only")  # a killed run's is removed next time
    with atomic_output(output) as final, temporary_file(video_only_path, output.suffix) as video_only:
        target = str(video_only) if info.has_audio else final
        writer = None
        bar = tqdm(total=total, unit="frame", desc="video", disable=not progress)
        try:
            for frame in read_frames(source, every):  # the styles are encoded at the first frame, then cached
                out = blend(frame, stylizer.stylize_tensor(frame, styles, **options))
                meter.add(frame, out)
                if writer is None:
                    h, w = out.shape[-2:]
                    writer = imageio_ffmpeg.write_frames(
                        target, (w, h), fps=fps, quality=quality, macro_block_size=2,
                        output_params=["-movflags", "+faststart"] if output.suffix.lower() in (".mp4", ".mov") else None,
                        ffmpeg_log_level="error",
                    )
                    writer.send(None)
                writer.send(_to_bytes(out))
                count += 1
                bar.update(1)
        finally:
            bar.close()
            if writer is not None:
                writer.close()
        if count == 0:
            raise FlowstyleError(f"no frames in {source}")
        if info.has_audio:
            _mux_audio(video_only, source, final)
    return VideoResult(output, count, fps, meter.ratio, info.has_audio)

"""Flicker of per-frame video stylization, before and after TemporalBlend (docs/artist_features.md).

Makes short clips from a scikit-image photo (a pan and a zoom over `coffee`, public domain), writes
them as MP4 with the bundled ffmpeg (they are the `--clip` inputs of `flowstyle video`), stylizes
every frame once and reports the flicker ratio (mean |s_t - s_{t-1}| over mean |c_t - c_{t-1}|)
of the per-frame results and of the same frames through TemporalBlend at a few strengths. Also
draws docs/img/video_frames.png: input, per-frame and blended rows for a few frames of the pan.

    OMP_NUM_THREADS=1 python research/video_flicker.py --frames 16 --phases 4 --out reports/video_flicker.md

`--recipe KEY=VALUE` (repeatable) sets recipe fields for every frame, e.g. `--recipe balance=0`.
"""

from __future__ import annotations

import argparse
import platform
import time
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage import data
from torch.nn import functional as F

from flowstyle.pipeline import Stylizer
from flowstyle.pipeline.video import FlickerMeter, TemporalBlend, estimate_shift, read_frames, translate


def warp_error(contents: list[torch.Tensor], frames: list[torch.Tensor], border: int = 6) -> float:
    """Mean |s_t - warp(s_{t-1})| with the camera motion taken out (the shift estimated on the
    inputs), inside a border: what changes that the motion does not explain, i.e. the flicker."""
    errors = []
    for t in range(1, len(frames)):
        dy, dx = estimate_shift(contents[t - 1], contents[t])
        diff = (frames[t] - translate(frames[t - 1], dy, dx))[..., border:-border, border:-border]
        errors.append(float(diff.abs().mean()))
    return float(np.mean(errors))


def make_clip(kind: str, frames: int, width: int, height: int) -> list[torch.Tensor]:
    """A camera move over the coffee photo: 'pan' (left to right, 2 px a frame at this size) or
    'zoom' (in by 1.5x over the clip)."""
    photo = torch.from_numpy(data.coffee()).permute(2, 0, 1)[None].float() / 255  # 400 x 600
    big = F.interpolate(photo, size=(height * 2, int(height * 2 * 1.5)), mode="bilinear", antialias=True, align_corners=False)
    out = []
    for t in range(frames):
        if kind == "pan":
            top, left = (big.shape[-2] - height * 2) // 2, 4 * t
            crop = big[..., top : top + height * 2, left : left + width * 2]
        else:
            scale = 1.0 + 0.5 * t / max(1, frames - 1)
            ch, cw = int(height * 2 / scale), int(width * 2 / scale)
            top, left = (big.shape[-2] - ch) // 2, (big.shape[-1] - cw) // 2
            crop = big[..., top : top + ch, left : left + cw]
        out.append(F.interpolate(crop, size=(height, width), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1))
    return out


def write_clip(frames: list[torch.Tensor], path: Path, fps: float = 12) -> None:
    import imageio_ffmpeg

    h, w = frames[0].shape[-2:]
    writer = imageio_ffmpeg.write_frames(str(path), (w, h), fps=fps, quality=9, macro_block_size=2, ffmpeg_log_level="error")
    writer.send(None)
    for f in frames:
        writer.send((f[0] * 255).round().byte().permute(1, 2, 0).contiguous().numpy().tobytes())
    writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="artflow-adain")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--width", type=int, default=192)
    parser.add_argument("--height", type=int, default=128)
    parser.add_argument("--phases", type=int, default=None)
    parser.add_argument("--strengths", type=float, nargs="+", default=[0.4, 0.6, 0.8])
    parser.add_argument("--clips", default="out/clips", help="folder for the generated MP4 clips")
    parser.add_argument("--figure", default="docs/img/video_frames.png")
    parser.add_argument("--recipe", action="append", default=[], metavar="KEY=VALUE",
                        help="recipe fields for every frame, e.g. balance=0 (numbers)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    recipe = {k: v for k, v in dict(phases=args.phases).items() if v is not None}
    recipe.update({key: float(value) for key, _, value in (item.partition("=") for item in args.recipe)})
    style = str(resources.files("flowstyle") / "assets" / "send1.png")
    stylizer = Stylizer(args.model)
    Path(args.clips).mkdir(parents=True, exist_ok=True)
    start = time.time()
    rows = []
    for kind in ("pan", "zoom"):
        path = Path(args.clips) / f"coffee_{kind}.mp4"
        write_clip(make_clip(kind, args.frames, args.width, args.height), path)
        contents = list(read_frames(path))  # as decoded, like `flowstyle video` sees them
        print(f"{kind:5s} input: motion-compensated change {warp_error(contents, contents):.4f}", flush=True)
        stylized = [stylizer.stylize_tensor(c, style, recipe=recipe) for c in contents]
        results = {0.0: stylized}
        for strength in args.strengths:
            blend = TemporalBlend(strength)
            results[strength] = [blend(c, s) for c, s in zip(contents, stylized)]
        for strength, frames in results.items():
            meter = FlickerMeter()
            for c, s in zip(contents, frames):
                meter.add(c, s)
            drift = float(torch.stack([(a - b).abs().mean() for a, b in zip(frames, stylized)]).mean())
            warped = warp_error(contents, frames)
            rows.append((kind, strength, meter.ratio, warped, drift))
            print(f"{kind:5s} blend {strength:.1f}: flicker ratio {meter.ratio:.3f}, motion-compensated change {warped:.4f}, "
                  f"mean |blended - per-frame| {drift:.4f}", flush=True)
        if kind == "pan" and args.figure:
            picks = [0, len(contents) // 3, 2 * len(contents) // 3, len(contents) - 1]
            strip = [torch.cat([x[i] for i in picks], -1) for x in (contents, stylized, results[0.6 if 0.6 in results else args.strengths[0]])]
            grid = torch.cat(strip, -2)[0]
            Image.fromarray((grid.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()).save(args.figure)
    lines = [
        f"{args.frames}-frame clips {args.width}x{args.height} from scikit-image `coffee` (pan: 2 px a frame; zoom: 1.5x over the clip), "
        f"style send1.png, model {args.model}, recipe {recipe or 'the model default'}; "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, {time.time() - start:.0f} s.",
        "",
        "| clip | temporal blend | flicker ratio (1 = changes as much as the input) | motion-compensated change per frame (input: see text) | mean abs difference to the per-frame result |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {k} | {s:.1f}{' (off)' if s == 0 else ''} | {r:.3f} | {w:.4f} | {d:.4f} |" for k, s, r, w, d in rows]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()

"""`flowstyle video IN STYLE -o OUT`: a clip stylized frame by frame (flowstyle.pipeline.video)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from .args import positive_int, unit_float


def add_video_command(
    sub: argparse._SubParsersAction,
    add_options: Callable[[argparse.ArgumentParser], None],
    collect_options: Callable[[argparse.Namespace], dict],
) -> None:
    p = sub.add_parser("video", help="stylize a video clip (audio copied through)")
    p.add_argument("input", help="video file")
    p.add_argument("styles", nargs="+", help="style image(s)")
    p.add_argument("-o", "--output", required=True, help="output video (.mp4, .mkv, .mov, .webm, .avi, .gif)")
    p.add_argument("--every", type=positive_int, default=1, help="stylize every N-th frame (the frame rate is divided by N; default 1)")
    p.add_argument("--temporal-blend", type=unit_float, default=0.6,
                   help="flicker reduction: blend with the previous output moved by the camera motion, 0 (off) .. <1 (default 0.6)")
    add_options(p)
    p.set_defaults(func=lambda args: _cmd_video(args, collect_options))


def _cmd_video(args: argparse.Namespace, collect_options: Callable[[argparse.Namespace], dict]) -> int:
    from ..errors import FlowstyleError
    from ..image.io import open_image
    from ..models import DEFAULT_MODEL
    from ..pipeline import Stylizer
    from ..pipeline.video import stylize_video

    if args.temporal_blend >= 1.0:
        raise FlowstyleError("--temporal-blend must be below 1")
    options = collect_options(args)
    styles = [open_image(s) for s in args.styles]  # fail early on a bad style
    stylizer = Stylizer(args.model or DEFAULT_MODEL, device=args.device, precision=args.precision)
    result = stylize_video(stylizer, args.input, styles, args.output, every=args.every,
                           temporal_blend=args.temporal_blend, **options)
    audio = "audio copied" if result.audio else "no audio"
    print(f"{result.frames} frames at {result.fps:g} fps, {audio}, flicker ratio {result.flicker:.2f}")
    print(result.path)
    return 0

"""`flowstyle video IN STYLE -o OUT`: a clip stylized frame by frame (flowstyle.pipeline.video).

The stylize flags are generated from `StylizeOptions`, as for `flowstyle stylize`.
"""

from __future__ import annotations

import argparse

from ..errors import FlowstyleError
from ..pipeline.options import StylizeOptions
from .args import add_fields, add_recipe, positive_int, values
from .stylize import add_model_flags, stylizer_from


def add_video(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="video file")
    p.add_argument("styles", nargs="+", help="style image(s)")
    p.add_argument("-o", "--output", required=True, help="output video (.mp4, .mkv, .mov, .webm, .avi, .gif)")
    p.add_argument("--every", type=positive_int, default=1, help="stylize every N-th frame (the frame rate is divided by N; default 1)")
    p.add_argument("--temporal-blend", type=float, default=0.6,
                   help="flicker reduction: blend with the previous output moved by the camera motion, 0 (off) .. <1 (default 0.6)")
    add_model_flags(p)
    add_fields(p, StylizeOptions)
    add_recipe(p)
    p.set_defaults(func=run_video)


def run_video(args: argparse.Namespace) -> int:
    from ..image.io import open_image
    from ..pipeline.video import stylize_video

    if not 0.0 <= args.temporal_blend < 1.0:
        raise FlowstyleError(f"--temporal-blend must be from 0 to below 1, got {args.temporal_blend}")
    options = StylizeOptions(**values(args, StylizeOptions))
    if options.mask is not None:
        options = options.replace(mask=open_image(options.mask))  # read once, not per frame
    styles = [open_image(s) for s in args.styles]  # fail early on a bad style
    stylizer = stylizer_from(args)
    options = stylizer.options_for(len(styles), options)
    result = stylize_video(stylizer, args.input, styles, args.output, every=args.every,
                           temporal_blend=args.temporal_blend, options=options)
    audio = "audio copied" if result.audio else "no audio"
    flicker = f"{result.flicker:.2f}" if result.flicker == result.flicker else "n/a (no motion)"  # NaN: a still clip
    print(f"{result.frames} frames at {result.fps:g} fps, {audio}, flicker ratio {flicker}")
    print(result.path)
    return 0

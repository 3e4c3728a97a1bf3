"""The `flowstyle` command line: parses flags, calls the Python API, writes files.

User mistakes end with one line on stderr and exit code 2; nothing is half-written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .args import non_negative_int, positive_float, positive_int, unit_float
from ..errors import FlowstyleError
from .eval import add_eval_command
from .video import add_video_command
from ..training.trainer import add_train_command

EXIT_USAGE = 2


def _add_stylize_options(p: argparse.ArgumentParser) -> None:
    """The model and stylize flags, shared by `stylize` and `video`."""
    p.add_argument("--model", default=None, help="model name (see `flowstyle models`) or weights file")
    p.add_argument("--method", choices=("adain", "wct", "adaattn"), help="transfer operator (default: the model's)")
    p.add_argument("--alpha", type=unit_float, default=1.0, help="style strength, 0 (content) .. 1 (full style)")
    p.add_argument("--style-weights", type=float, nargs="+", help="one weight per style")
    p.add_argument("--blend", choices=("outputs", "latents"), default="outputs", help="how several styles mix")
    p.add_argument("--size", type=positive_int, help="resize so the longest side is N px")
    p.add_argument("--style-size", type=positive_int, help="longest side of the styles (default: the content's)")
    p.add_argument("--pad", type=non_negative_int, default=64, help="border padding in px (default 64)")
    p.add_argument("--pad-mode", choices=("reflect", "zeros"), default="reflect")
    p.add_argument("--phases", type=positive_int, help="squeeze phases to average: 1, 2, 4 or 16 (default: the model's)")
    p.add_argument("--gain", type=positive_float, help="scale the style change; >1 restores what phase averaging softens (default: the model's)")
    p.add_argument("--max-keys", type=positive_int, help="AdaAttN: sample at most K style positions")
    p.add_argument("--seed", type=int, default=0, help="seed for key sampling")
    p.add_argument("--tile", type=non_negative_int, help="rows per tile for big images (0: never tile; default: automatic)")
    p.add_argument("--precision", choices=("float32", "bf16"), default="float32", help="bf16: faster on CPUs with bf16 units")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--preserve-color", action="store_true", help="keep the content's colours; take the style's structure and texture")
    p.add_argument("--mask", help="grey or label image: its levels, darkest first, pick the style of each region (two styles: a grey blend)")
    p.add_argument("--mask-feather", type=float, default=4.0, help="soft edge of the mask's regions, Gaussian sigma in px (default 4)")


def _stylize_options(args: argparse.Namespace) -> dict:
    """The stylize keywords from the parsed flags; a mask file is read once, here."""
    from ..image.io import open_image

    return dict(
        tile=args.tile, gain=args.gain, method=args.method, alpha=args.alpha, style_weights=args.style_weights, blend=args.blend,
        size=args.size, style_size=args.style_size, pad=args.pad, pad_mode=args.pad_mode,
        max_keys=args.max_keys, seed=args.seed, phases=args.phases,
        preserve_color=args.preserve_color, mask=open_image(args.mask) if args.mask else None,
        mask_feather=args.mask_feather,
    )


def _add_stylize(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stylize", help="paint a photo (or a folder of photos) in one or more styles")
    p.add_argument("content", help="content image, or a folder of images")
    p.add_argument("styles", nargs="+", help="style image(s)")
    p.add_argument("-o", "--output", required=True, help="output image (or folder when CONTENT is a folder)")
    _add_stylize_options(p)
    p.add_argument("--overwrite", action="store_true", help="folder mode: redo existing outputs")
    p.set_defaults(func=_cmd_stylize)


def _cmd_stylize(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..image.io import IMAGE_SUFFIXES, is_image_file, open_image, save_image
    from ..pipeline import Stylizer
    from ..models import DEFAULT_MODEL

    content = Path(args.content)
    output = Path(args.output)
    if not content.exists():
        raise FlowstyleError(f"no such file or folder: {content}")
    if args.style_weights is not None and len(args.style_weights) != len(args.styles):
        raise FlowstyleError(f"got {len(args.style_weights)} style weights for {len(args.styles)} styles")
    if output.suffix.lower() not in IMAGE_SUFFIXES and not content.is_dir():
        raise FlowstyleError(f"output must end in an image suffix ({', '.join(IMAGE_SUFFIXES)}): {output}")
    styles = [open_image(s) for s in args.styles]  # fail early on a bad style
    stylizer = Stylizer(args.model or DEFAULT_MODEL, device=args.device, precision=args.precision)
    options = _stylize_options(args)
    if not content.is_dir():
        if not output.parent.exists():
            raise FlowstyleError(f"output folder does not exist: {output.parent}")
        image = stylizer.stylize(content, styles, **options)
        save_image(image, output)
        print(output)
        return 0

    inputs = sorted(p for p in content.rglob("*") if is_image_file(p))
    if not inputs:
        raise FlowstyleError(f"no images in folder: {content}")
    if output.exists() and not output.is_dir():
        raise FlowstyleError(f"output must be a folder when CONTENT is a folder: {output}")
    output.mkdir(parents=True, exist_ok=True)
    done = skipped = failed = 0
    for path in tqdm(inputs, desc="stylize", unit="img"):
        target = output / path.relative_to(content).with_suffix(".png")
        if target.exists() and not args.overwrite:
            skipped += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            save_image(stylizer.stylize(path, styles, **options), target)
            done += 1
        except FlowstyleError as exc:
            failed += 1
            tqdm.write(f"skipped {path}: {exc}", file=sys.stderr)
    print(f"{done} written, {skipped} already there, {failed} failed -> {output}")
    return 0 if failed == 0 else EXIT_USAGE


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the shipped models")
    p.set_defaults(func=_cmd_models)


def _cmd_models(args: argparse.Namespace) -> int:
    from ..models import list_models

    entries = list_models()
    if not entries:
        print("no models shipped yet; pass a weights file with --model PATH")
    for e in entries:
        c = e.config
        arch = f"{c['n_block']}x{c['n_flow']} trans {c['n_trans']} width {c['width']} {c['coupling']} {c['squeeze']}"
        fix = f"phases {e.info.get('default_phases', 1)} gain {e.info.get('default_gain', 1.0):g}"
        print(f"{e.name:28s} {e.method:8s} {arch}  {fix}  {e.info.get('summary', '')}".rstrip())
    return 0


def _add_init_model(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init-model", help="create an untrained (ActNorm-initialised) model file")
    p.add_argument("output", help="weights file to write (.safetensors)")
    p.add_argument("--n-block", type=positive_int, default=2)
    p.add_argument("--n-flow", type=non_negative_int, default=8)
    p.add_argument("--n-trans", type=non_negative_int, default=0)
    p.add_argument("--width", type=positive_int, default=512)
    p.add_argument("--coupling", choices=("additive", "affine"), default="additive")
    p.add_argument("--squeeze", choices=("checkerboard", "haar"), default="checkerboard")
    p.add_argument("--method", choices=("adain", "wct", "adaattn"), default="adain")
    p.add_argument("--init-image", action="append", help="image(s) for ActNorm init (default: bundled photos)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_init_model)


def _cmd_init_model(args: argparse.Namespace) -> int:
    from ..models import init_model, save_model

    model = init_model(
        n_block=args.n_block, n_flow=args.n_flow, n_trans=args.n_trans, width=args.width,
        coupling=args.coupling, squeeze=args.squeeze, method=args.method,
        images=args.init_image, seed=args.seed,
    )
    path = save_model(model, args.output)
    print(path)
    return 0


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="stylize the bundled sample photo with the bundled style")
    p.add_argument("-o", "--output", default="flowstyle-demo.png", help="output image (default flowstyle-demo.png)")
    p.add_argument("--model", default=None, help="model name or weights file (default artflow-adain)")
    p.add_argument("--size", type=positive_int, default=512)
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from importlib import resources

    from ..image.io import save_image
    from ..pipeline import Stylizer
    from ..models import DEFAULT_MODEL

    assets = resources.files("flowstyle") / "assets"
    output = Path(args.output)
    if not output.parent.exists():
        raise FlowstyleError(f"output folder does not exist: {output.parent}")
    stylizer = Stylizer(args.model or DEFAULT_MODEL)
    image = stylizer.stylize(str(assets / "astronaut.jpg"), str(assets / "send1.png"), size=args.size)
    save_image(image, output)
    print(f"content astronaut.jpg (NASA, public domain) + style send1.png (GIMP pattern, GPL-2+), model {stylizer.model.name}")
    print(output.resolve())
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="flowstyle", description="Style transfer with a reversible flow.")
    parser.add_argument("--version", action="version", version=f"flowstyle {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_stylize(sub)
    add_video_command(sub, _add_stylize_options, _stylize_options)
    _add_models(sub)
    _add_init_model(sub)
    _add_demo(sub)
    add_train_command(sub)
    add_eval_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.func(args)
    except FlowstyleError as exc:
        print(f"flowstyle: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("flowstyle: error: out of memory; try a smaller --size", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("flowstyle: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

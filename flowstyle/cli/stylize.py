"""`flowstyle stylize` and `flowstyle demo`.

The stylize flags are generated from `StylizeOptions` (pipeline/options.py): a new option there
is a new flag here without touching this file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import FlowstyleError
from ..flow.precision import PRECISIONS
from ..models.registry import DEFAULT_MODEL
from ..pipeline.options import StylizeOptions
from .args import add_fields, add_recipe, positive_int, values

EXIT_USAGE = 2


def add_model_flags(p: argparse.ArgumentParser) -> None:
    """--model, --precision, --device: which Stylizer (shared with `video`)."""
    p.add_argument("--model", default=None, help="model name (see `flowstyle models`) or weights file")
    p.add_argument("--precision", choices=PRECISIONS, help="flow precision; auto: bf16 where the CPU has it (default: the model's)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")


def add_stylize(p: argparse.ArgumentParser) -> None:
    p.add_argument("content", help="content image, or a folder of images")
    p.add_argument("styles", nargs="+", help="style image(s)")
    p.add_argument("-o", "--output", required=True, help="output image (or folder when CONTENT is a folder)")
    add_model_flags(p)
    add_fields(p, StylizeOptions)
    add_recipe(p)
    p.add_argument("--overwrite", action="store_true", help="folder mode: redo existing outputs")
    p.set_defaults(func=run_stylize)


def stylizer_from(args: argparse.Namespace):
    from ..pipeline import Stylizer

    return Stylizer(args.model or DEFAULT_MODEL, device=args.device, precision=args.precision)


def run_stylize(args: argparse.Namespace) -> int:
    from ..image.io import IMAGE_SUFFIXES, find_images, open_image, save_image

    options = StylizeOptions(**values(args, StylizeOptions))  # bad options fail before any work
    content = Path(args.content)
    output = Path(args.output)
    if not content.exists():
        raise FlowstyleError(f"no such file or folder: {content}")
    if options.style_weights is not None and len(options.style_weights) != len(args.styles):
        raise FlowstyleError(f"got {len(options.style_weights)} style weights for {len(args.styles)} styles")
    if output.suffix.lower() not in IMAGE_SUFFIXES and not content.is_dir():
        raise FlowstyleError(f"output must end in an image suffix ({', '.join(IMAGE_SUFFIXES)}): {output}")
    _refuse_overwriting_inputs(output, content, [*map(Path, args.styles), *([Path(options.mask)] if options.mask else [])])
    if options.mask is not None:
        options = options.replace(mask=open_image(options.mask))  # read once, not per image
    styles = [open_image(s) for s in args.styles]  # fail early on a bad style
    stylizer = stylizer_from(args)
    options = stylizer.options_for(len(styles), options)  # checked against the model before any work
    if not content.is_dir():
        if not output.parent.is_dir():
            raise FlowstyleError(f"output folder does not exist: {output.parent}")
        save_image(stylizer.stylize(content, styles, options), output)
        print(output)
        return 0

    from tqdm import tqdm

    inputs = find_images(content)
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
            save_image(stylizer.stylize(path, styles, options), target)
            done += 1
        except FlowstyleError as exc:
            failed += 1
            tqdm.write(f"skipped {path}: {exc}", file=sys.stderr)
    print(f"{done} written, {skipped} already there, {failed} failed -> {output}")
    return 0 if failed == 0 else EXIT_USAGE


def _refuse_overwriting_inputs(output: Path, content: Path, others: list[Path]) -> None:
    """The output may not replace an input, nor be inside the content folder (a rerun would
    stylize its own outputs)."""
    target = output.resolve()
    if any(target == path.resolve() for path in (content, *others)):
        raise FlowstyleError(f"the output would overwrite an input: {output}")
    if content.is_dir() and content.resolve() in target.parents:
        raise FlowstyleError(f"the output folder may not be inside the content folder: {output}")


def add_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", default="flowstyle-demo.png", help="output image (default flowstyle-demo.png)")
    p.add_argument("--model", default=None, help=f"model name or weights file (default {DEFAULT_MODEL})")
    p.add_argument("--size", type=positive_int, default=512)
    p.set_defaults(func=run_demo, device="cpu", precision=None)


def run_demo(args: argparse.Namespace) -> int:
    from importlib import resources

    from ..image.io import save_image

    assets = resources.files("flowstyle") / "assets"
    output = Path(args.output)
    if not output.parent.exists():
        raise FlowstyleError(f"output folder does not exist: {output.parent}")
    stylizer = stylizer_from(args)
    image = stylizer.stylize(str(assets / "astronaut.jpg"), str(assets / "great-wave.jpg"), size=args.size)
    save_image(image, output)
    print("content astronaut.jpg (NASA, public domain) + style great-wave.jpg (Hokusai, The Great Wave off "
          f"Kanagawa; flowstyle/assets/LICENSES.md), model {stylizer.model.name}")
    print(output.resolve())
    return 0

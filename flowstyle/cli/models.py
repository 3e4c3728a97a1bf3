"""`flowstyle models` (list, set-defaults) and `flowstyle init-model`."""

from __future__ import annotations

import argparse

from ..flow.model import FlowConfig
from ..flow.precision import PRECISIONS
from ..operators import OPERATORS
from ..pipeline.options import resolved_work_size
from .args import add_fields, add_recipe, values


def add_models(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="models_command", metavar="ACTION")
    q = sub.add_parser("list", help="the shipped models with their architecture and recipe (the default action)")
    q.set_defaults(func=run_list)
    q = sub.add_parser("set-defaults", help="change a weights file's recipe, default method, precision or working size (atomically; tensors untouched)")
    q.add_argument("model", metavar="NAME|PATH", help="registered model name or weights file")
    add_recipe(q)
    q.add_argument("--method", choices=OPERATORS, help="default operator")
    q.add_argument("--precision", choices=PRECISIONS, help="default flow precision")
    q.add_argument("--work-size", type=int, metavar="N", help="default working size: photos painted at N px on the longest side (0: their own size)")
    q.add_argument("-o", "--output", help="write a new file instead of changing MODEL in place")
    q.set_defaults(func=run_set_defaults)
    p.set_defaults(func=run_list)


def run_list(args: argparse.Namespace) -> int:
    from ..models import DEFAULT_MODEL, list_models

    entries = list_models()
    if not entries:
        print("no models shipped yet; pass a weights file with --model PATH")
    for e in entries:
        c, d = e.config, e.defaults
        arch = f"{c.n_block}x{c.n_flow} trans {c.n_trans} width {c.width} {c.coupling} {c.squeeze}"
        fix = f"{d.recipe}" + (f", {d.precision}" if d.precision else "")
        fix += f", paints at {resolved_work_size(None, d.work_size)} px"
        name = f"{e.name} (default)" if e.name == DEFAULT_MODEL else e.name
        print(f"{name:31s} {d.method or e.method:8s} {arch}  {fix}  {e.info.get('summary', '')}".rstrip())
    return 0


def run_set_defaults(args: argparse.Namespace) -> int:
    from ..models import load_model
    from ..models.weights import set_defaults

    from ..errors import FlowstyleError

    changes = {k: getattr(args, k) for k in ("method", "precision", "work_size") if getattr(args, k) is not None}
    recipe = getattr(args, "recipe", None)
    if not changes and not recipe:
        raise FlowstyleError("nothing to set: give --recipe KEY=VALUE (repeatable), --method, --precision or --work-size")
    path = set_defaults(args.model, args.output, recipe, **changes)
    model = load_model(path)  # the file reads back
    d = model.defaults
    print(f"{path}: {d.recipe}; method {d.method or model.method}, precision {d.precision or 'float32'}, "
          f"work size {resolved_work_size(None, d.work_size)} px")
    return 0


def add_init_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("output", help="weights file to write (.safetensors)")
    add_fields(p, FlowConfig)
    p.add_argument("--method", choices=OPERATORS, default="adain", help="the operator the model is for (default adain)")
    p.add_argument("--init-image", action="append", help="image(s) for ActNorm init (default: bundled photos)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_init_model)


def run_init_model(args: argparse.Namespace) -> int:
    from ..models import init_model, save_model

    config = FlowConfig(**values(args, FlowConfig))
    model = init_model(config, method=args.method, images=args.init_image, seed=args.seed)
    print(save_model(model, args.output))
    return 0

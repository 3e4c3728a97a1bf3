"""`flowstyle models` (list, set-defaults) and `flowstyle init-model`."""

from __future__ import annotations

import argparse

from ..flow.model import FlowConfig
from ..flow.precision import PRECISIONS
from ..operators import ANCHOR_STATS, OPERATORS
from .args import add_fields, values


def add_models(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="models_command", metavar="ACTION")
    q = sub.add_parser("list", help="the shipped models with their architecture and inference defaults (the default action)")
    q.set_defaults(func=run_list)
    q = sub.add_parser("set-defaults", help="change a weights file's inference defaults (atomically; tensors untouched)")
    q.add_argument("model", metavar="NAME|PATH", help="registered model name or weights file")
    q.add_argument("--phases", type=int, help="squeeze phases averaged by default (1, 2, 4 or all)")
    q.add_argument("--deep-phases", type=int, help="squeeze phases of the deepest block alone averaged on each of those (1, 2 or 4)")
    q.add_argument("--gain", type=float, help="latent-change scale chosen for those phases")
    q.add_argument("--grid-filter", type=float, metavar="PX", help="width of the lattice filter on the style change at those phases (0: off)")
    q.add_argument("--grid-filter-diagonal", type=float, metavar="PX", help="the filter's width for the grid's checkerboard, if other than --grid-filter's")
    q.add_argument("--method", choices=OPERATORS, help="default operator")
    q.add_argument("--precision", choices=PRECISIONS, help="default flow precision")
    q.add_argument("--anchor", type=float, help="AdaAttN's pull to the style's overall latent mean/std, 0 .. 1")
    q.add_argument("--anchor-stats", choices=ANCHOR_STATS, help="what the anchor matches: channel mean/std or mean and covariance")
    q.add_argument("--anchor-near", type=float, metavar="D", help="fade the attention's own change out below this latent distance between content and style (0: off)")
    q.add_argument("-o", "--output", help="write a new file instead of changing MODEL in place")
    q.set_defaults(func=run_set_defaults)
    p.set_defaults(func=run_list)


def run_list(args: argparse.Namespace) -> int:
    from ..models import list_models

    entries = list_models()
    if not entries:
        print("no models shipped yet; pass a weights file with --model PATH")
    for e in entries:
        c, d = e.config, e.defaults
        arch = f"{c.n_block}x{c.n_flow} trans {c.n_trans} width {c.width} {c.coupling} {c.squeeze}"
        fix = f"phases {d.phases}" + (f"/{d.deep_phases} deep" if d.deep_phases != 1 else "") + f" gain {d.gain:g}" + (f" grid-filter {d.grid_filter:g}" if d.grid_filter else "") + (f"/{d.grid_filter_diagonal:g} diagonal" if d.grid_filter_diagonal is not None else "") + (f" {d.anchoring}" if d.anchoring.active else "") + (f" {d.precision}" if d.precision else "")
        print(f"{e.name:28s} {d.method or e.method:8s} {arch}  {fix}  {e.info.get('summary', '')}".rstrip())
    return 0


def run_set_defaults(args: argparse.Namespace) -> int:
    from ..models import load_model
    from ..models.weights import set_defaults

    from ..errors import FlowstyleError

    changes = {k: getattr(args, k) for k in ("phases", "deep_phases", "gain", "grid_filter", "grid_filter_diagonal", "method", "precision", "anchor", "anchor_stats", "anchor_near") if getattr(args, k) is not None}
    if not changes:
        raise FlowstyleError("nothing to set: give --phases, --deep-phases, --gain, --grid-filter, --grid-filter-diagonal, --method, --precision, --anchor, --anchor-stats or --anchor-near")
    path = set_defaults(args.model, args.output, **changes)
    model = load_model(path)  # the file reads back
    d = model.defaults
    print(f"{path}: phases {d.phases}, deep phases {d.deep_phases}, gain {d.gain:g}, grid filter {d.grid_filter:g} px{f' ({d.grid_filter_diagonal:g} px diagonal)' if d.grid_filter_diagonal is not None else ''}, anchor {d.anchor:g} ({d.anchor_stats}, near {d.anchor_near:g}), method {d.method or model.method}, precision {d.precision or 'float32'}")
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

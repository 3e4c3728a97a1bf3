"""`flowstyle serve`: the web studio. The web module (and Gradio) load only when it runs."""

from __future__ import annotations

import argparse
import ipaddress
import sys

from .args import positive_int

LOOPBACK = "127.0.0.1"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def add_serve(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=LOOPBACK, help=f"address to bind (default {LOOPBACK}: this machine only)")
    p.add_argument("--port", type=positive_int, default=7860, help="port (default 7860)")
    p.add_argument("--model", action="append", metavar="NAME_OR_FILE",
                   help="offer this model (repeatable; default: the shipped models)")
    p.add_argument("--max-upload-mb", type=float, default=None, help="largest upload (default 20)")
    p.add_argument("--max-megapixels", type=float, default=None, help="largest input image (default 25)")
    p.add_argument("--max-side", type=positive_int, default=None, help="largest output side in px (default 1024)")
    p.add_argument("--max-queue", type=positive_int, default=None, help="requests waiting at most (default 4)")
    p.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from ..web.limits import Limits
    from ..web.studio import Studio, model_table

    if args.port > 65535:
        raise SystemExit("flowstyle serve: error: --port must be at most 65535")
    if not is_loopback(args.host):
        print(f"flowstyle serve: warning: binding to {args.host}: anyone who can reach this machine can use "
              "the studio (there is no login); use the default 127.0.0.1 to keep it local", file=sys.stderr)
    given = {k: getattr(args, k) for k in ("max_upload_mb", "max_megapixels", "max_side", "max_queue")}
    try:
        limits = Limits(**{k: v for k, v in given.items() if v is not None})
    except ValueError as exc:
        raise SystemExit(f"flowstyle serve: error: {exc}") from None
    studio = Studio(models=model_table(args.model), limits=limits)
    from ..web import serve

    serve(host=args.host, port=args.port, studio=studio)
    return 0

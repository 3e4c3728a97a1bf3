"""The `flowstyle` command line: parses flags, calls the Python API, writes files.

Each subcommand lives in its own module here and is imported only when it runs, so
`flowstyle --help` loads neither torch nor the eval extras. User mistakes end with one line on
stderr and exit code 2; nothing is half-written.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable, Sequence

from ..errors import FlowstyleError

EXIT_USAGE = 2

# name -> (module in flowstyle.cli with an `add_arguments(parser)`, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "stylize": ("stylize", "paint a photo (or a folder of photos) in one or more styles"),
    "models": ("models", "list the shipped models; set a weights file's inference defaults"),
    "init-model": ("models", "create an untrained (ActNorm-initialised) model file"),
    "video": ("video", "stylize a video clip (audio copied through)"),
    "serve": ("serve", "the web studio: a page and HTTP API on this machine"),
    "demo": ("stylize", "stylize the bundled sample photo with the bundled style"),
    "train": ("train", "train a model on folders of content and style images"),
    "eval": ("eval", "evaluate models: the report's experiments, figures and tables"),
}


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only `commands` (default: all) get their flags, the rest just a name and help."""
    from .. import __version__

    full = set(COMMANDS) if commands is None else set(commands)
    parser = argparse.ArgumentParser(prog="flowstyle", description="Style transfer with a reversible flow.")
    parser.add_argument("--version", action="version", version=f"flowstyle {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, text) in COMMANDS.items():
        p = sub.add_parser(name, help=text, description=text)
        if name in full:
            getattr(importlib.import_module(f".{module}", __package__), "add_" + name.replace("-", "_"))(p)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 must not crash a print
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser([_command(argv)] if _command(argv) else [])
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
    except OSError as exc:  # the file system said no: permissions, a full disk, a name too long
        where = f": {exc.filename}" if exc.filename else ""
        print(f"flowstyle: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("flowstyle: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

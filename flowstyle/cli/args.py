"""argparse helpers: value types, and flags generated from self-describing dataclass fields."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable
from typing import Any


def _whole_number(text: str, minimum: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


def positive_int(text: str) -> int:
    return _whole_number(text, 1, "a positive number")


def non_negative_int(text: str) -> int:
    return _whole_number(text, 0, "a number >= 0")


def add_fields(parser: argparse.ArgumentParser, cls: type, only: Iterable[str] | None = None,
               defaults: dict[str, Any] | None = None) -> None:
    """One flag per field of dataclass `cls` (see flowstyle.fields.option), help and choices
    from the field's metadata.

    Flags the user leaves out are absent from the parsed namespace (`values`), so the dataclass
    stays the one source of its defaults; `defaults` overrides a few for this command.
    """
    only = set(only) if only is not None else None
    defaults = defaults or {}
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if not meta.get("flag", True) or (only is not None and f.name not in only):
            continue
        flag = "--" + f.name.replace("_", "-")
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        default = defaults.get(f.name, f.default)
        help_text = meta.get("help", "")
        if not required and default not in (None, False, dataclasses.MISSING) and "default:" not in help_text:
            help_text += f" (default: {default})"
        kwargs: dict[str, Any] = {"help": help_text, "dest": f.name}
        if f.type in (bool, "bool"):
            kwargs["action"] = "store_true"
        else:
            for key in ("type", "choices", "nargs", "metavar"):
                if key in meta:
                    kwargs[key] = meta[key]
        if required:
            kwargs["required"] = True
        elif f.name in defaults:
            kwargs["default"] = defaults[f.name]
        else:
            kwargs["default"] = argparse.SUPPRESS
        parser.add_argument(flag, **kwargs)


def values(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of dataclass `cls` that the command line set (see `add_fields`)."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}

"""argparse helpers: value types, flags generated from self-describing dataclass fields, and
repeatable KEY=VALUE flags that fill one dict of such fields (`--recipe phases=4`)."""

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


def add_key_values(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type, flag: str, dest: str,
                   help: str) -> None:
    """A repeatable `flag KEY=VALUE` that collects fields of dataclass `cls` into one dict at
    `dest` (absent from the namespace when not given). Each value is parsed by its field's type
    (metadata "type"); "none" sets an optional field to None. The help lists the keys."""
    known = {f.name: f for f in dataclasses.fields(cls) if f.metadata.get("flag", True)}
    keys = "; ".join(f"{name}: {f.metadata.get('help', '')}" + (f" ({'|'.join(f.metadata['choices'])})" if f.metadata.get("choices") else "")
                     + f" [{f.default}]" for name, f in known.items())

    def pair(text: str) -> tuple[str, Any]:
        key, sep, raw = text.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in known:
            raise argparse.ArgumentTypeError(f"expected KEY=VALUE with KEY one of {', '.join(known)}, got {text!r}")
        f = known[key]
        raw = raw.strip()
        if raw.lower() == "none" and f.default is None:
            return key, None
        try:
            value = f.metadata.get("type", str)(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key}: not a valid {f.metadata.get('type', str).__name__}: {raw!r}") from None
        if f.metadata.get("choices") and value not in f.metadata["choices"]:
            raise argparse.ArgumentTypeError(f"{key}: choose from {', '.join(f.metadata['choices'])}, got {raw!r}")
        return key, value

    class Collect(argparse.Action):
        def __call__(self, parser, namespace, value, option_string=None):
            setattr(namespace, self.dest, {**(getattr(namespace, self.dest, None) or {}), value[0]: value[1]})

    parser.add_argument(flag, dest=dest, metavar="KEY=VALUE", type=pair, action=Collect, default=argparse.SUPPRESS,
                        help=f"{help} Keys: {keys}.")


def add_recipe(parser: argparse.ArgumentParser) -> None:
    """The "advanced" group: `--recipe KEY=VALUE`, changes to the model's tuning (models/recipe.py)."""
    from ..models.recipe import Recipe

    group = parser.add_argument_group("advanced", "change the model's tuning recipe (see `flowstyle models` for each model's)")
    add_key_values(group, Recipe, "--recipe", "recipe", "set one field of the model's recipe; repeatable. In "
                   "brackets: the value where a model names none (`flowstyle models list` shows each model's own).")

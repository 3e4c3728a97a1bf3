"""Dataclass fields that describe themselves, so front ends are generated, not written out.

`option(default, help, choices=..., type=...)` is a `dataclasses.field` whose metadata holds
what a command line or a web form needs; `flowstyle.cli.args.add_fields` turns a dataclass's
fields into flags. Adding a setting is then one change: the field. No torch here (`--help`).
"""

from __future__ import annotations

import dataclasses
from typing import Any


def option(default: Any = dataclasses.MISSING, help: str = "", *, choices: tuple | None = None,
           type: Any = None, nargs: str | None = None, metavar: str | None = None,
           default_factory: Any = dataclasses.MISSING, flag: bool = True, compare: bool = True) -> Any:
    """A field with its default, help text and (optional) choices, type, nargs and metavar.

    type: how a front end parses one value (int, float, str); bool fields become switches.
    flag=False keeps a field out of generated command lines; compare=False leaves it out of ==
    (e.g. an image).
    """
    meta = {"help": help, "choices": choices, "type": type, "nargs": nargs, "metavar": metavar, "flag": flag}
    meta = {k: v for k, v in meta.items() if v is not None}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta, compare=compare)
    return dataclasses.field(default=default, metadata=meta, compare=compare)

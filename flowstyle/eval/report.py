"""report.md and results.json: number formatting, markdown tables, the header, strict JSON.

Each experiment returns a `Section` (title, markdown body, figure files, raw numbers);
`write_report` puts the header and the sections into `report.md` and the numbers into
`results.json`.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from . import metrics as M
from .runners import NamedImage, Runner, Settings


@dataclass
class Section:
    """One part of report.md: a title, markdown body, figure files, raw numbers."""

    title: str
    body: str
    figures: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)


def fmt(value: float) -> str:
    """Three significant digits; n/a for NaN or None, inf for infinity."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return "inf"
    return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.3e}"


def pm(values: Sequence[float]) -> str:
    """Mean ± standard deviation (the mean alone for one value)."""
    mean, spread = M.mean_spread(values)
    if math.isnan(mean):
        return "n/a"
    return f"{fmt(mean)} ± {fmt(spread)}" if len(values) > 1 else fmt(mean)


def mw(values: Sequence[float], higher_is_better: bool = True) -> str:
    """Median, with the worst decile in brackets (the value alone for one value)."""
    median, worst = M.median_worst(values, higher_is_better)
    if math.isnan(median):
        return "n/a"
    return f"{fmt(median)} ({fmt(worst)})" if len(values) > 1 else fmt(median)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)



def _recipe_words(recipe) -> str:
    """The evaluation's recipe changes ('model default' when none): k=v, ..."""
    changes = recipe.changes() if hasattr(recipe, "changes") else dict(recipe or {})
    return ", ".join(f"{k}={v}" for k, v in changes.items()) or "model default"


def header(settings: Settings, runners: Sequence[Runner], contents: Sequence[NamedImage],
           styles: Sequence[NamedImage], names: Sequence[str]) -> str:
    """The report's first lines: command, machine, settings, models and the images' SHA-1s."""
    from .. import __version__

    s = settings
    lines = [
        f"- command: `{s.command}`" if s.command else None,
        f"- date: {_dt.datetime.now().isoformat(timespec='seconds')}; flowstyle {__version__}, "
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"torch threads: {torch.get_num_threads()}, device: {s.device}",
        f"- settings: size {s.size} px, pad {s.options.pad} ({s.options.pad_mode}), quality {s.options.quality}, recipe {_recipe_words(s.options.recipe)}, "
        f"leak {s.leak_rounds} rounds on {s.leak_pairs} pair(s); experiments: {', '.join(names)}",
        f"- note: {s.note}" if s.note else None,
        "- models: " + "; ".join(f"`{r.short}` = {r.label}" for r in runners),
        "- contents: " + ", ".join(f"`{c.name}` ({c.sha1})" for c in contents),
        "- styles: " + ", ".join(f"`{c.name}` ({c.sha1})" for c in styles),
    ]
    return (
        "# flowstyle evaluation\n\n"
        + "\n".join(line for line in lines if line is not None)
        + "\n\nImages are identified by the first 12 hex digits of their file's SHA-1. They must not be "
        "among the images the models were trained or tuned on.\n"
    )



def write_report(out: Path, settings: Settings, runners: Sequence[Runner], contents: Sequence[NamedImage],
                 styles: Sequence[NamedImage], names: Sequence[str], sections: Sequence[Section]) -> Path:
    """Write `out/report.md` (header, then each section) and `out/results.json`; returns report.md's path."""
    report = out / "report.md"
    text = header(settings, runners, contents, styles, names)
    text += "".join(f"\n## {sec.title}\n\n{sec.body}\n" for sec in sections)
    report.write_text(text, encoding="utf-8")
    results = {
        "settings": asdict(settings),
        "models": {r.name: {"label": r.label, **r.info} for r in runners},
        "contents": [{"name": c.name, "path": c.path, "sha1": c.sha1} for c in contents],
        "styles": [{"name": c.name, "path": c.path, "sha1": c.sha1} for c in styles],
        "sections": {sec.title: sec.data for sec in sections},
    }
    (out / "results.json").write_text(json.dumps(finite(results), indent=1, default=str), encoding="utf-8")
    return report


def finite(value):
    """NaN and inf -> None, so results.json is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value

